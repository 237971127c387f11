"""HTML → PDF/A-3b with WeasyPrint: bundled fonts and assets only, decision data attached as JSON."""

import mimetypes
import warnings
from pathlib import Path

import segno
from flask_babel import gettext as _
from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[2]
ASSET_DIR = Path(__file__).resolve().parent / "assets"
FONT_DIR = ROOT / "static" / "vendor" / "kern" / "fonts" / "fira-sans"
SCHEME = "asset:"
BASE_CSS = "brief.css"
ATTACHMENT_NAME = "bescheid.json"
QR_MASK = 2
MAX_ASSET_BYTES = 2 * 1024 * 1024


class RefusedResource(ValueError):
    """A template referenced something other than a bundled asset."""


class RenderFailed(RuntimeError):
    """The notice could not be turned into a PDF: the template refers to resources that are refused."""

    def __init__(self, message: str, urls=()):
        super().__init__(message)
        self.urls = list(urls)  # what was refused (at most 200 characters each)


def _asset_table() -> dict[str, Path]:
    """Exact allow-list: asset name → file. Nothing outside it can ever be read."""
    table = {p.name: p for p in ASSET_DIR.iterdir() if p.is_file() and p.suffix in {".css", ".svg", ".png"}}
    table.update({f"fonts/{p.name}": p for p in FONT_DIR.glob("FiraSans-*.woff2")})
    return table


ASSETS = _asset_table()
_CACHE: dict[str, bytes] = {}


def asset_bytes(name: str) -> bytes:
    if name not in _CACHE:
        path = ASSETS[name]
        if path.stat().st_size > MAX_ASSET_BYTES:
            raise RefusedResource(f"asset too large: {name}")
        _CACHE[name] = path.read_bytes()
    return _CACHE[name]


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):
        """Serves `asset:<name>` from the allow-list; refuses file:, http(s):, data: and the rest."""

        def __init__(self):
            super().__init__(allowed_protocols=("asset",), allow_redirects=False, fail_on_errors=True)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            name = url[len(SCHEME) :] if url.startswith(SCHEME) else None
            if name not in ASSETS:
                self.refused.append(url[:200])
                raise RefusedResource(_("Nicht erlaubte Ressource: %(url)s", url=url[:200]))
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=asset_bytes(name), headers={"Content-Type": mime})

    return AssetFetcher


_STATE: dict = {}


def _weasy():
    """Import WeasyPrint once, with one font configuration and the parsed base stylesheet."""
    if not _STATE:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        fetcher_cls = _fetcher_class()
        font_config = FontConfiguration()
        base = weasyprint.CSS(
            string=asset_bytes(BASE_CSS).decode(), font_config=font_config, url_fetcher=fetcher_cls()
        )
        _STATE.update(weasyprint=weasyprint, fetcher_cls=fetcher_cls, font_config=font_config, base_css=base)
    return _STATE


def qr_svg(url: str) -> Markup:
    """The verification link as an inline SVG QR code (error correction M).

    The mask pattern is fixed: any of the eight is valid (ISO/IEC 18004), and scoring all eight to
    pick one cost ~3 ms per notice; tests/unit decodes the printed code to check it stays readable.
    """
    qr = segno.make_qr(url, error="m", mask=QR_MASK)
    # segno builds the SVG itself from our own URL: nothing user-supplied is marked safe here.
    return Markup(qr.svg_inline(scale=3, border=0, dark="#000", omitsize=False, title=""))  # noqa: S704


def render_pdf(html: str, css: str = "", attachment_json: str | None = None, title: str = "") -> bytes:
    """Render notice HTML (+ template CSS) to PDF/A-3b; raises RenderFailed on any refused resource."""
    state = _weasy()
    weasyprint = state["weasyprint"]
    fetcher = state["fetcher_cls"]()
    try:
        with warnings.catch_warnings():
            # WeasyPrint leaves its bundled sRGB profile file open (harmless; closed by GC).
            warnings.filterwarnings("ignore", category=ResourceWarning, message=r".*sRGB2014\.icc")
            stylesheets = [state["base_css"]]
            if css.strip():
                stylesheets.append(
                    weasyprint.CSS(string=css, font_config=state["font_config"], url_fetcher=fetcher)
                )
            attachments = []
            if attachment_json is not None:
                attachments.append(
                    weasyprint.Attachment(
                        string=attachment_json,
                        name=ATTACHMENT_NAME,
                        url_fetcher=fetcher,
                        description="Entscheidungsdaten (maschinenlesbar)",
                        relationship="Data",
                    )
                )
            document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
            pdf = document.write_pdf(
                stylesheets=stylesheets,
                font_config=state["font_config"],
                pdf_variant="pdf/a-3b",
                attachments=attachments,
                custom_metadata=False,
            )
    except weasyprint.urls.FatalURLFetchingError as exc:
        raise _refused(fetcher.refused) from exc
    except RefusedResource as exc:
        raise RenderFailed(str(exc), fetcher.refused) from exc
    if fetcher.refused:  # some WeasyPrint paths (SVG <image>) log fetch errors instead of raising
        raise _refused(fetcher.refused)
    return pdf


def _refused(urls: list[str]) -> RenderFailed:
    return RenderFailed(_("Nicht erlaubte Ressource in der Vorlage: %(urls)s", urls=", ".join(urls)), urls)
