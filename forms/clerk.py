"""Forms of the clerk work queue and the citizen's answer/withdraw actions (shape only, no rules)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

MAX_TEXT = 5000


def _row_version_field():
    return HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])


class BaseForm(FlaskForm):
    """Error messages as plain strings (the KERN macros show only strings, not lazy texts)."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for field in self:
            field.errors = [str(e) if not isinstance(e, str) else e for e in field.errors]
        return valid


class VersionedForm(BaseForm):
    """Every state-changing form carries the request's row_version (optimistic locking)."""

    row_version = _row_version_field()

    @property
    def expected_row_version(self) -> int:
        return int(self.row_version.data)


class ClaimForm(VersionedForm):
    pass


class NoticeRetryForm(BaseForm):
    """"Bescheid erneut erzeugen": CSRF only (the notice's state guards against a double click)."""


class AssignForm(VersionedForm):
    assignee = SelectField(_l("Zuweisen an"), coerce=int, validate_choice=True)


class NoteForm(BaseForm):
    text = TextAreaField(
        _l("Interne Notiz"),
        validators=[DataRequired(_l("Geben Sie eine Notiz ein.")), Length(max=MAX_TEXT)],
    )


class RetentionHoldForm(VersionedForm):
    reason = TextAreaField(
        _l("Grund für die längere Aufbewahrung"),
        description=_l("Zum Beispiel ein Widerspruch oder ein Gerichtsverfahren. "
                       "Nur für Mitarbeitende sichtbar."),
        validators=[DataRequired(_l("Bitte geben Sie an, warum der Antrag länger aufbewahrt werden muss.")),
                    Length(max=2000)],
    )


class ForwardForm(VersionedForm):
    department = SelectField(_l("An Abteilung"), coerce=int, validate_choice=True)
    reason = TextAreaField(
        _l("Begründung"),
        validators=[
            DataRequired(_l("Geben Sie eine Begründung für die Weiterleitung an.")),
            Length(max=MAX_TEXT),
        ],
    )


class AnswerForm(BaseForm):
    """The citizen's answer to a question (Rückfrage): text and optional files."""

    body = TextAreaField(
        _l("Ihre Antwort"),
        validators=[DataRequired(_l("Geben Sie Ihre Antwort ein.")), Length(max=MAX_TEXT)],
    )
    files = MultipleFileField(_l("Dokumente hochladen"))


class WithdrawForm(VersionedForm):
    confirm = BooleanField(
        _l("Ja, ich möchte diesen Antrag zurückziehen."),
        validators=[DataRequired(_l("Bestätigen Sie, dass Sie den Antrag zurückziehen möchten."))],
    )


def _lines_required(message):
    def check(form, field):
        if not [line for line in (field.data or "").splitlines() if line.strip()]:
            raise ValidationError(message)

    return check


def _max_length(label: str, limit: int):
    """Length(max=...) naming the field (Length %-formats its message, which a label may break)."""

    def check(form, field):
        if field.data and len(field.data) > limit:
            raise ValidationError(
                _l("„%(label)s“ darf höchstens %(n)d Zeichen lang sein.", label=label, n=limit)
            )

    return check


def transition_form_class(transition, locale="de"):
    """A form class for one workflow transition: its declared fields, a comment, the row_version."""

    class TransitionForm(VersionedForm):
        pass

    for spec in transition.form_fields:
        setattr(TransitionForm, f"f_{spec.key}", _field_for(spec, locale))
    if transition.comment_required or not any(s.key == "comment" for s in transition.form_fields):
        required = transition.comment_required
        validators = [DataRequired(_l("Geben Sie einen Kommentar ein."))] if required else [Optional()]
        validators.append(Length(max=MAX_TEXT))
        TransitionForm.comment = TextAreaField(_l("Interner Kommentar"), validators=validators)
    return TransitionForm


def _field_for(spec, locale):
    """The WTForms field of a transition's input; its messages name it (the error summary lists them)."""
    label, hint = spec.label(locale), spec.help(locale) or None
    limit = [_max_length(label, spec.max_length or MAX_TEXT)]
    missing = _l("Bitte füllen Sie „%(label)s“ aus.", label=label)
    required = [DataRequired(missing)] if spec.required else [Optional()]
    if spec.type == "checkbox":
        return BooleanField(label, description=hint)
    if spec.type == "text":
        return StringField(label, validators=[*required, *limit], description=hint)
    if spec.type == "lines":
        presence = [_lines_required(missing)] if spec.required else [Optional()]
        return TextAreaField(label, validators=[*presence, *limit], description=hint)
    return TextAreaField(label, validators=[*required, *limit], description=hint)


def transition_data(form, transition) -> dict:
    """The data dict apply_transition expects ('lines' fields become lists)."""
    data = {}
    for spec in transition.form_fields:
        value = getattr(form, f"f_{spec.key}").data
        if spec.type == "lines":
            value = [line.strip() for line in (value or "").splitlines() if line.strip()]
        data[spec.key] = value
    if hasattr(form, "comment"):
        data["comment"] = (form.comment.data or "").strip()
    return data
