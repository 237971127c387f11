"""File upload: the engine checks counts, emptiness and size; storing and content sniffing are the
journey's `store_file(path, FileStorage)` callback (services/uploads.py), which may reject a file."""

from flask_babel import gettext as _
from markupsafe import Markup, escape
from werkzeug.datastructures import FileStorage
from wtforms import MultipleFileField

from forms.dynamic.registry import FieldError, FieldType, register
from services.errors import UploadRejected
from services.formatting import format_size

DEFAULT_ACCEPT = ("application/pdf", "image/jpeg", "image/png")
DEFAULT_MAX_MB = 10
HARD_MAX_MB = 50
_ACCEPT_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg,.jpeg", "image/png": ".png"}


class _TolerantFiles(MultipleFileField):
    def process_formdata(self, valuelist):
        self.data = [f for f in valuelist if isinstance(f, FileStorage) and f.filename]


def _size_of(upload: FileStorage) -> int:
    stream = upload.stream
    position = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(position)
    return size


@register
class FileUpload(FieldType):
    """One or more files (`max_files`), allowed MIME types (`accept`), size cap (`max_size_mb`)."""

    name = "file"
    macro = "file"
    allowed_in_group = False
    holds_files = True
    options = frozenset({"accept", "max_size_mb", "max_files"})

    def definition_errors(self, doc, path):
        errors = []
        if doc.get("max_size_mb", DEFAULT_MAX_MB) > HARD_MAX_MB:
            errors.append((f"{path}.max_size_mb", _("Höchstens %(n)d MB sind möglich.", n=HARD_MAX_MB)))
        for i, mime in enumerate(doc.get("accept", ())):
            if mime not in _ACCEPT_EXTENSIONS:
                message = _("Der Dateityp „%(mime)s“ wird nicht unterstützt.", mime=mime)
                errors.append((f"{path}.accept[{i}]", message))
        return errors

    def sample_answers(self, doc):
        entry = {"id": "beispiel", "name": "beispiel.pdf", "size": 1024, "mime": "application/pdf",
                 "sha256": "0" * 64}  # fmt: skip
        return [[entry]]

    def wtforms_field(self, spec, locale):
        return _TolerantFiles(spec.label(locale), description=spec.help(locale))

    def render_attrs(self, spec):
        attrs = {"type": "file", "accept": ",".join(_ACCEPT_EXTENSIONS[m] for m in accept_of(spec))}
        if spec.get("max_files", 1) > 1:
            attrs["multiple"] = True
        return attrs

    def raw(self, field):
        return [f for f in (field.data or ()) if isinstance(f, FileStorage) and f.filename]

    def required_message(self, spec, locale):
        return _("Laden Sie eine Datei für „%(label)s“ hoch.", label=spec.label(locale))

    def clean(self, spec, field, locale, context):
        existing = context.get("existing")
        existing = [f for f in existing if isinstance(f, dict)] if isinstance(existing, list) else []
        uploads = self.raw(field)
        if len(existing) + len(uploads) > spec.get("max_files", 1):
            if spec.get("max_files", 1) == 1:
                raise FieldError(_("Entfernen Sie zuerst die vorhandene Datei, um eine andere hochzuladen."))
            raise FieldError(_("Sie können höchstens %(n)s Dateien hochladen.", n=spec.get("max_files")))
        stored = [self._store(spec, upload, context) for upload in uploads]
        files = existing + stored
        if not files and spec.required:
            raise FieldError(self.required_message(spec, locale))
        return files or None

    def _store(self, spec, upload, context):
        size = _size_of(upload)
        if size == 0:
            raise FieldError(_("Die ausgewählte Datei ist leer."))
        if size > max_bytes_of(spec):
            raise FieldError(
                _(
                    "Die Datei ist zu groß. Sie darf höchstens %(size)s groß sein.",
                    size=format_size(max_bytes_of(spec)),
                )
            )
        store_file = context.get("store_file")
        if store_file is None:
            raise FieldError(_("Dateien können hier nicht hochgeladen werden."))
        try:
            return store_file(context["path"], upload)
        except UploadRejected as exc:
            raise FieldError(exc.message) from None

    def to_formdata(self, spec, value):
        return {}

    def describe(self, entry: dict, locale: str | None = None) -> str:
        """ "Fahrzeugschein.pdf (120 KB)" for the list of uploaded files."""
        return f"{entry.get('name', '')} ({format_size(entry.get('size'), locale)})"

    def format_text(self, spec, value, locale):
        return ", ".join(self.describe(f, locale) for f in value or ())

    def format_html(self, spec, value, locale, file_url=None):
        items = []
        for f in value or ():
            shown = self.describe(f, locale)
            if file_url:
                items.append(Markup('<li><a class="kern-link" href="%s">%s</a></li>') % (file_url(f), shown))
            else:
                items.append(Markup("<li>%s</li>") % shown)
        return Markup('<ul class="kern-list">%s</ul>') % Markup("").join(items) if items else escape("")


def accept_of(spec) -> tuple[str, ...]:
    """MIME types a file field accepts (for the journey's content check)."""
    return tuple(spec.get("accept") or DEFAULT_ACCEPT)


def max_bytes_of(spec) -> int:
    """Largest accepted file of a file field in bytes."""
    return int(spec.get("max_size_mb", DEFAULT_MAX_MB) * 1024 * 1024)
