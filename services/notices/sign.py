"""PAdES B-LT sealing with pyHanko: key parsed once per process, timestamp + validation data embedded."""

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from services.notices.pki import DevPki, dev_pki_from_config

FIELD_NAME = "Siegel"
SIGNER_KEY_USAGE = {"digital_signature", "non_repudiation"}


class _ExpectedOfflineWarning(logging.Filter):
    """pyHanko warns on every signature that fetching is off; we hand it all CRLs on purpose."""

    def filter(self, record):
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_ExpectedOfflineWarning())


class SigningNotConfigured(RuntimeError):
    """Production needs a seal key (PKCS#12 or PKCS#11) and a TSA URL."""


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _key_info(key) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


class PreloadedKeySigner(signers.SimpleSigner):
    """SimpleSigner re-parses its key for every signature; this one signs with the key parsed once."""

    def __init__(self, key, cert: x509.Certificate, chain: list[x509.Certificate]):
        super().__init__(
            signing_cert=to_asn1(cert),
            signing_key=_key_info(key),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]),
        )
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), hash_algo)
        return super().sign_raw(data, digest_algorithm)


class LocalTimeStamper(DummyTimeStamper):
    """In-process RFC 3161 TSA of the development PKI (own certificate, EKU timeStamping)."""

    def __init__(self, key: rsa.RSAPrivateKey, cert: x509.Certificate, chain: list[x509.Certificate]):
        super().__init__(
            tsa_cert=to_asn1(cert), tsa_key=_key_info(key), certs_to_embed=[to_asn1(c) for c in chain]
        )
        self._key = key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt):
        # Same as the parent, minus re-parsing the key for every timestamp.
        from asn1crypto import cms, core
        from cryptography.hazmat.primitives import hashes
        from pyhanko.sign import general

        md_spec = get_pyca_cryptography_hash(md_algorithm)
        digest = hashes.Hash(md_spec)
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                general.simple_cms_attribute("content_type", "tst_info"),
                general.simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                general.simple_cms_attribute(
                    "signing_certificate", general.as_signing_certificate(self.tsa_cert)
                ),
                general.simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._key.sign(
            signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, signed_attrs


@dataclass
class Seal:
    """Everything needed to seal PDFs for one department, prepared once per process."""

    signer: signers.Signer
    timestamper: object
    trust_roots: list
    other_certs: list
    crls: list = field(default_factory=list)
    allow_fetching: bool = False
    crls_valid_until: datetime | None = None
    bytes_reserved: int = 16384

    def validation_context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=self.trust_roots,
            other_certs=self.other_certs,
            crls=self.crls,
            allow_fetching=self.allow_fetching,
        )

    def stale(self) -> bool:
        return self.crls_valid_until is not None and datetime.now(UTC) >= self.crls_valid_until


_SEALS: dict[tuple, Seal] = {}
_LOCK = threading.Lock()


def get_seal(department_slug: str, department_name: str, config) -> Seal:
    """The cached seal for a department (built on first use in this process)."""
    key = (
        config["PKI_DIR"],
        config.get("SIGNING_PKCS12"),
        config.get("SIGNING_PKCS11_MODULE"),
        department_slug,
    )
    with _LOCK:
        seal = _SEALS.get(key)
        if seal is None or seal.stale():
            seal = _SEALS[key] = _build_seal(department_slug, department_name, config)
        return seal


def clear_cache() -> None:
    """Forget prepared seals (tests that swap the PKI directory)."""
    with _LOCK:
        _SEALS.clear()


def _build_seal(slug, name, config) -> Seal:
    if config.get("SIGNING_PKCS12") or config.get("SIGNING_PKCS11_MODULE"):
        return _production_seal(config)
    if config.get("ENV_NAME") == "production":
        raise SigningNotConfigured(
            "Production needs SIGNING_PKCS12 or SIGNING_PKCS11_MODULE (docs/notices.md)."
        )
    return _development_seal(dev_pki_from_config(config), slug, name)


def _development_seal(pki: DevPki, slug, name) -> Seal:
    seal_issued = pki.ensure_seal(slug, name)
    root = _load_cert(pki.dir / "root.cert.pem")
    issuing = _load_cert(pki.dir / "issuing.cert.pem")
    tsa_cert = _load_cert(pki.dir / "tsa.cert.pem")
    tsa_key = serialization.load_pem_private_key((pki.dir / "tsa.key.pem").read_bytes(), password=None)
    crls = [x509.load_der_x509_crl(pki.crl_bytes(n)) for n in ("root", "issuing")]
    chain = [issuing, root]
    return Seal(
        signer=PreloadedKeySigner(seal_issued.key, seal_issued.cert, chain),
        timestamper=LocalTimeStamper(tsa_key, tsa_cert, chain),
        trust_roots=[to_asn1(c) for c in trust_anchor_certs(pki.dir)],
        other_certs=[to_asn1(c) for c in (issuing, tsa_cert)],
        crls=[asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER)) for c in crls],
        crls_valid_until=min(c.next_update_utc for c in crls),
        bytes_reserved=_reserve([seal_issued.cert, tsa_cert, *chain]),
    )


def _production_seal(config) -> Seal:
    if not config.get("TSA_URL"):
        raise SigningNotConfigured("A production seal needs TSA_URL (RFC 3161 timestamp authority).")
    timestamper = HTTPTimeStamper(config["TSA_URL"])
    roots = [to_asn1(c) for c in trust_anchor_certs(Path(config["PKI_DIR"]))]
    if config.get("SIGNING_PKCS12"):
        signer, chain = _pkcs12_signer(config)
        roots += [to_asn1(c) for c in chain if c.issuer == c.subject]
    else:
        signer = _pkcs11_signer(config)
    return Seal(
        signer=signer,
        timestamper=timestamper,
        trust_roots=roots,
        other_certs=[],
        allow_fetching=True,
        bytes_reserved=32768,
    )


def _pkcs12_signer(config):
    from cryptography.hazmat.primitives.serialization import pkcs12

    password = config.get("SIGNING_PKCS12_PASSWORD")
    key, cert, chain = pkcs12.load_key_and_certificates(
        Path(config["SIGNING_PKCS12"]).read_bytes(), password.encode() if password else None
    )
    if key is None or cert is None:
        raise SigningNotConfigured("SIGNING_PKCS12 holds no private key and certificate.")
    return PreloadedKeySigner(key, cert, list(chain or [])), list(chain or [])


def _pkcs11_signer(config):
    try:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError as exc:  # python-pkcs11 is an optional dependency
        raise SigningNotConfigured("PKCS#11 signing needs the python-pkcs11 package.") from exc
    session = open_pkcs11_session(
        config["SIGNING_PKCS11_MODULE"],
        token_criteria=TokenCriteria(label=config.get("SIGNING_PKCS11_TOKEN")),
        user_pin=config.get("SIGNING_PKCS11_PIN"),
    )
    label = config.get("SIGNING_PKCS11_KEY_LABEL")
    return PKCS11Signer(session, cert_label=label, key_label=label)


def trust_anchor_certs(pki_dir: Path) -> list[x509.Certificate]:
    """The development root (if any) plus every PEM in PKI_DIR/trust/ (production anchors)."""
    certs = []
    root = pki_dir / "root.cert.pem"
    if root.exists():
        certs.append(_load_cert(root))
    for path in sorted((pki_dir / "trust").glob("*.pem")) if (pki_dir / "trust").is_dir() else ():
        certs.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return certs


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _reserve(certs) -> int:
    """Hex digits to reserve for the CMS blob: every certificate (signature and timestamp token may
    both embed the chain) plus signatures and attributes, times two for hex encoding."""
    der = 2 * sum(len(c.public_bytes(serialization.Encoding.DER)) for c in certs) + 3072
    return (2 * der // 1024 + 1) * 1024


def _keep_xmp(writer) -> None:
    """Hand pyHanko the document's parsed XMP, so it updates it (ModDate, Producer) instead of
    replacing it: a fresh packet would drop the PDF/A identification (pdfaid:part/conformance)."""
    from pyhanko.pdf_utils.metadata import xmp_xml

    if "/Metadata" not in writer.root:
        return
    xmp = xmp_xml.parse_xmp(BytesIO(writer.root["/Metadata"].data))
    writer.root["/Metadata"] = writer.add_object(xmp_xml.MetadataStream.from_xmp(xmp))
    writer.update_root()


def sign_pdf(pdf: bytes, department_slug: str, department_name: str, config, reason: str = "") -> bytes:
    """Seal `pdf` (PAdES B-LT, invisible field) with the department's seal; returns the signed bytes."""
    seal = get_seal(department_slug, department_name, config)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        use_pades_lta=False,
        validation_context=seal.validation_context(),
        signer_key_usage=SIGNER_KEY_USAGE,
        reason=reason or None,
        location="Duisburg",
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    _keep_xmp(writer)
    out = BytesIO()
    signers.PdfSigner(meta, signer=seal.signer, timestamper=seal.timestamper).sign_pdf(
        writer, output=out, bytes_reserved=seal.bytes_reserved
    )
    return out.getvalue()
