"""Development PKI: root CA, issuing CA, one seal per department, CRLs and a local TSA.

Everything lives under PKI_DIR (instance/pki/) and is labelled as not for production.
Production deployments load a PKCS#12 file or an HSM instead (see docs/notices.md).
"""

import fcntl
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TEST_LABEL = "TEST – nicht für den Produktivbetrieb"
ORG = "Stadt Duisburg"
TEST_ORG = f"{ORG} ({TEST_LABEL})"
MAX_CN = 64  # X.520 upper bound; longer names make every parser warn
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
CRL_DAYS = 30
CRL_REFRESH_BEFORE = timedelta(days=3)
README = f"""Entwicklungs-PKI von Amtsweg ({TEST_LABEL}).

Diese Schlüssel und Zertifikate wurden automatisch erzeugt (flask pki init). Sie sind nur für
Entwicklung und Tests gedacht. Mit ihnen gesiegelte Bescheide sind keine amtlichen Dokumente.
Produktion: SIGNING_PKCS12 oder SIGNING_PKCS11_* und TSA_URL setzen (docs/notices.md).
"""


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key (pyca objects)."""

    cert: x509.Certificate
    key: object


def _name(common_name: str, unit: str | None = None) -> x509.Name:
    """Subject with the test label in O (always) and in CN where it fits into 64 characters."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORG),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _shorten(unit, "")))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def labelled_cn(name: str) -> str:
    """`<name> (TEST – nicht für den Produktivbetrieb)`, else `<name> (TEST)`, within 64 UTF-8 bytes."""
    full = f"{name} ({TEST_LABEL})"
    return full if _fits(full) else _shorten(name, " (TEST)")


def _shorten(name: str, suffix: str) -> str:
    while not _fits(name + suffix):
        name = name[:-1].rstrip()
    return name + suffix


def _fits(value: str) -> bool:
    return len(value.encode("utf-8")) <= MAX_CN


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def _save(path: Path, issued: Issued) -> None:
    key_pem = issued.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(path.with_suffix(".key.pem"), key_pem)
    cert_tmp = path.with_suffix(".cert.pem.tmp")
    cert_tmp.write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
    cert_tmp.replace(path.with_suffix(".cert.pem"))


def load_issued(path: Path) -> Issued | None:
    """Load `<path>.cert.pem` + `<path>.key.pem`, or None when not created yet."""
    cert_path, key_path = path.with_suffix(".cert.pem"), path.with_suffix(".key.pem")
    if not (cert_path.exists() and key_path.exists()):
        return None
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return Issued(cert, key)


def _build(subject, issuer: Issued | None, key, days: int, extensions, crl_url: str | None):
    now = datetime.now(UTC)
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    signer_key = issuer.key if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False
    )
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def _key_usage(**flags):
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _ca_extensions(path_length):
    return [
        (x509.BasicConstraints(ca=True, path_length=path_length), True),
        (_key_usage(key_cert_sign=True, crl_sign=True, digital_signature=True), True),
    ]


def _ec_key():
    return ec.generate_private_key(ec.SECP256R1())


class DevPki:
    """The files of the development PKI under one directory, with the CRL URLs baked into certs."""

    def __init__(self, pki_dir: str | Path, base_url: str):
        self.dir = Path(pki_dir)
        self.base_url = base_url.rstrip("/")

    def crl_url(self, name: str) -> str:
        return f"{self.base_url}/verify/pki/{name}.crl"

    @contextmanager
    def _locked(self):
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.dir / "seals").mkdir(mode=0o700, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure(self, departments=()) -> list[str]:
        """Create whatever is missing (idempotent); returns the names of what was created."""
        created = []
        with self._locked():
            root = self._ensure_ca(
                "root", None, labelled_cn("Amtsweg Entwicklungs-Root-CA"), 3650, 1, created
            )
            issuing = self._ensure_ca("issuing", root, labelled_cn("Amtsweg Siegel-CA"), 1825, 0, created)
            self._ensure_tsa(issuing, created)
            for slug, name in departments:
                self._ensure_seal(issuing, slug, name, created)
            self._ensure_crls(root, issuing, created)
            readme = self.dir / "README.txt"
            if not readme.exists():
                readme.write_text(README, encoding="utf-8")
        return created

    def _ensure_ca(self, name, parent, cn, days, path_length, created):
        path = self.dir / name
        existing = load_issued(path)
        if existing:
            return existing
        crl_url = self.crl_url(parent_name(name)) if parent else None
        issued = _build(_name(cn), parent, _ec_key(), days, _ca_extensions(path_length), crl_url)
        _save(path, issued)
        created.append(name)
        return issued

    def _ensure_tsa(self, issuing, created):
        path = self.dir / "tsa"
        if load_issued(path):
            return
        # pyHanko's in-process timestamper signs with RSA only.
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        extensions = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_key_usage(digital_signature=True, content_commitment=True), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True),
        ]
        cn = labelled_cn("Amtsweg Zeitstempeldienst")
        _save(path, _build(_name(cn), issuing, key, 1825, extensions, self.crl_url("issuing")))
        created.append("tsa")

    def seal_path(self, slug: str) -> Path:
        if not SLUG_RE.fullmatch(slug or ""):
            raise ValueError(f"unusable department slug for a seal file: {slug!r}")
        return self.dir / "seals" / slug

    def _ensure_seal(self, issuing, slug, department_name, created):
        path = self.seal_path(slug)
        if load_issued(path):
            return
        extensions = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_key_usage(digital_signature=True, content_commitment=True), True),
        ]
        cn = labelled_cn(f"{ORG} – {department_name}")
        _save(
            path,
            _build(_name(cn, department_name), issuing, _ec_key(), 825, extensions, self.crl_url("issuing")),
        )
        created.append(f"seal:{slug}")

    def ensure_seal(self, slug: str, department_name: str) -> Issued:
        """The seal of one department, created on first use (development mode only)."""
        issued = load_issued(self.seal_path(slug))
        if issued is None:
            self.ensure([(slug, department_name)])
            issued = load_issued(self.seal_path(slug))
        return issued

    def _ensure_crls(self, root, issuing, created):
        for name, ca in (("root", root), ("issuing", issuing)):
            path = self.dir / f"{name}.crl"
            if path.exists() and not _crl_needs_refresh(path.read_bytes()):
                continue
            now = datetime.now(UTC)
            crl = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(ca.cert.subject)
                .last_update(now - timedelta(minutes=5))
                .next_update(now + timedelta(days=CRL_DAYS))
                .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
                )
                .sign(ca.key, hashes.SHA256())
            )
            tmp = path.with_suffix(".crl.tmp")
            tmp.write_bytes(crl.public_bytes(serialization.Encoding.DER))
            tmp.replace(path)
            created.append(f"crl:{name}")

    def crl_bytes(self, name: str) -> bytes | None:
        """DER of a published CRL ("root" or "issuing"), refreshed when it is about to expire."""
        if name not in ("root", "issuing"):
            return None
        path = self.dir / f"{name}.crl"
        if not path.exists() or _crl_needs_refresh(path.read_bytes()):
            if not (self.dir / "root.cert.pem").exists():
                return None
            self.ensure()
        return path.read_bytes()

    def root_pem(self) -> bytes | None:
        path = self.dir / "root.cert.pem"
        return path.read_bytes() if path.exists() else None


def parent_name(name: str) -> str:
    return {"issuing": "root"}.get(name, "issuing")


def _crl_needs_refresh(der: bytes) -> bool:
    crl = x509.load_der_x509_crl(der)
    return crl.next_update_utc is None or crl.next_update_utc - datetime.now(UTC) < CRL_REFRESH_BEFORE


def dev_pki_from_config(config) -> DevPki:
    return DevPki(config["PKI_DIR"], config["BASE_URL"])
