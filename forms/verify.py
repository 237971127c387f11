"""Forms of the public verification page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import InputRequired, ValidationError

from services.notices import normalise_code

MAX_VERIFY_UPLOAD_BYTES = 10 * 1024 * 1024


class CodeForm(FlaskForm):
    """The verification code printed on the notice (GET form, no CSRF needed)."""

    class Meta:
        csrf = False

    code = StringField(_l("Prüfcode"), validators=[InputRequired(_l("Geben Sie den Prüfcode ein."))])

    def validate_code(self, field):
        if normalise_code(field.data) is None:
            raise ValidationError(_l("Der Prüfcode besteht aus 12 Zeichen, zum Beispiel ABCD-EFGH-JKMN."))


class UploadForm(FlaskForm):
    """A notice PDF to check (size-limited; only the first bytes are ever read)."""

    pdf = FileField(
        _l("Bescheid als PDF-Datei"), validators=[FileRequired(_l("Wählen Sie eine PDF-Datei aus."))]
    )

    def read_pdf(self) -> bytes | None:
        """The uploaded bytes, or None with a field error when too large or not a PDF."""
        data = self.pdf.data.stream.read(MAX_VERIFY_UPLOAD_BYTES + 1)
        if len(data) > MAX_VERIFY_UPLOAD_BYTES:
            self.pdf.errors.append(_l("Die Datei ist zu groß (höchstens 10 MB)."))
            return None
        if not data.startswith(b"%PDF-"):
            self.pdf.errors.append(_l("Die Datei ist keine PDF-Datei."))
            return None
        return data
