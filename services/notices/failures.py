"""Why a notice could not be created: recorded as data when its job fails, put into words when shown.

Where the render_notice job catches an error it raises `NoticeFailed` with a record: a reason code
and its parameters (`{"code": "template_undefined", "name": "decision.reason", "line": 12,
"template": {"owner": "city", "version": 3}}`). After the last attempt the failure hook stores the
record on the notice (`Notice.failure`) next to the technical error text, which stays for operators.
Each reader gets the reason in their own language: `failure_reason(notice)` words the record through
Flask-Babel at display time. FAILURES is the one registry of codes.
"""

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateSyntaxError

from services.notices import notice_title
from services.notices.render import RenderFailed
from services.notices.template_errors import (
    missing_value_path,
    syntax_problem,
    syntax_problem_text,
    template_line,
)
from services.notices.templates_env import ENV, MissingValue

# What an old row's error text holds instead of a record (notices that failed before Notice.failure).
LEGACY_MARKER = "NoticeTemplateFailed: "


@dataclass(frozen=True)
class FailureKind:
    """One reason code: its words (record → text in the current language) and whether the notice
    template is the cause, so the department's admin can fix it (else operators have to)."""

    words: Callable[[dict], str]
    in_template: bool = False


@dataclass(frozen=True)
class FailureReason:
    """Why a notice failed, worded for staff in the current language."""

    code: str
    text: str
    in_template: bool


class NoticeFailed(RuntimeError):
    """The render_notice job could not issue `notice`; `failure` is the record for Notice.failure.

    Its message (in the worker's language) is the reason as clerks read it, for the traceback.
    """

    def __init__(self, notice, failure: dict):
        self.failure = failure
        super().__init__(describe_failure(notice, failure).text)


def _undefined(record: dict) -> str:
    if record.get("line") is None:
        return _(
            "Die Vorlage verwendet „%(name)s“, das für diesen Antrag nicht gesetzt ist.", name=record["name"]
        )
    return _(
        "Die Vorlage verwendet „%(name)s“, das für diesen Antrag nicht gesetzt ist (Zeile %(line)s).",
        name=record["name"],
        line=record["line"],
    )


def _syntax(record: dict) -> str:
    problem = syntax_problem_text(record, ENV.filters, ENV.tests)
    return _("Zeile %(line)s: %(problem)s", line=record.get("line"), problem=problem)


def _template_error(record: dict) -> str:
    if record.get("line") is None:
        return _("Die Vorlage löst einen Fehler aus (%(error)s).", error=record.get("error"))
    return _(
        "Die Vorlage löst in Zeile %(line)s einen Fehler aus (%(error)s).",
        line=record["line"],
        error=record.get("error"),
    )


def _resource(record: dict) -> str:
    urls = ", ".join(record.get("urls") or [])
    return _("Nicht erlaubte Ressource in der Vorlage: %(urls)s", urls=urls)


def _technical(text) -> FailureKind:
    """A failure only operators can mend: the same words whatever the record holds."""
    return FailureKind(lambda record: str(text))


FAILURES: dict[str, FailureKind] = {
    "template_undefined": FailureKind(_undefined, in_template=True),
    "template_syntax": FailureKind(_syntax, in_template=True),
    "template_resource": FailureKind(_resource, in_template=True),
    "template_error": FailureKind(_template_error, in_template=True),  # any other error while it runs
    "pdf_render": _technical(_l("Beim Erzeugen des PDF ist ein technischer Fehler aufgetreten.")),
    "signing": _technical(_l("Beim Siegeln ist ein technischer Fehler aufgetreten.")),
    "storage": _technical(_l("Beim Speichern des Bescheids ist ein technischer Fehler aufgetreten.")),
    "unknown": _technical(_l("Beim Erstellen des Bescheids ist ein technischer Fehler aufgetreten.")),
    # never stored: an old row's template message, read back from its error text (German only)
    "legacy_template": FailureKind(lambda r: r["text"], in_template=True),
}


def template_of(version) -> dict:
    """Which template a record names: the service's own or the city-wide one (and its version), or
    the bundled one; worded in the reader's language when shown."""
    if version is None:
        return {"owner": "bundled"}
    owner = "service" if version.template.service_id is not None else "city"
    return {"owner": owner, "version": version.number}


def template_failure(exc: Exception, source: str, version) -> dict:
    """The record for a template (`source`, published as `version`) that raised `exc` on this data."""
    template, line = template_of(version), template_line(exc)
    if isinstance(exc, TemplateSyntaxError):
        return {"code": "template_syntax", "template": template, "line": exc.lineno, **syntax_problem(exc)}
    if isinstance(exc, MissingValue) and exc.name is not None:
        name = missing_value_path(source, line, exc.name)
        return {"code": "template_undefined", "template": template, "line": line, "name": name}
    if isinstance(exc, RenderFailed):
        return {"code": "template_resource", "template": template, "urls": exc.urls}
    return {"code": "template_error", "template": template, "line": line, "error": type(exc).__name__}


@contextmanager
def failing_as(notice, code: str):
    """Any error in the block fails `notice` with `code` (a NoticeFailed raised inside passes as it is)."""
    try:
        yield
    except NoticeFailed:
        raise
    except Exception as exc:
        raise NoticeFailed(notice, {"code": code}) from exc


def failure_of(exception: BaseException | None) -> dict:
    """The record to store for a job that gave up with `exception` ("unknown" unless it said why)."""
    return dict(exception.failure) if isinstance(exception, NoticeFailed) else {"code": "unknown"}


def failure_reason(notice) -> FailureReason:
    """Why a failed notice failed, in the current language; old rows without a record fall back to
    the template message in their error text, else to the generic technical reason."""
    return describe_failure(notice, notice.failure or legacy_failure(notice.error))


def describe_failure(notice, record: dict) -> FailureReason:
    """A failure record of `notice` in the current language (an unknown code reads as "unknown")."""
    kind = FAILURES.get(record.get("code"), FAILURES["unknown"])
    text = kind.words(record)
    if kind.in_template and record.get("template"):
        text = _with_template(notice, record["template"], text)
    return FailureReason(str(record.get("code")), text, kind.in_template)


def legacy_failure(error: str | None) -> dict:
    """The record of an old row: its template message as the failure hook stored it, or "unknown"."""
    error = error or ""
    position = error.rfind(LEGACY_MARKER)
    text = error[position + len(LEGACY_MARKER) :].strip() if position >= 0 else ""
    return {"code": "legacy_template", "text": text} if text else {"code": "unknown"}


def _with_template(notice, template: dict, problem: str) -> str:
    """„Vorlage „Bescheid – Ablehnung“ (stadtweit), Version 3: …“ — which template has the problem."""
    if template.get("owner") == "bundled":
        return _("Mitgelieferte Vorlage: %(reason)s", reason=problem)
    if template.get("owner") == "service":
        owner = notice.request.service.title(str(get_locale() or "de"))
    else:
        owner = _("stadtweit")
    return _(
        "Vorlage „%(title)s“ (%(owner)s), Version %(number)s: %(reason)s",
        title=notice_title(notice.kind),
        owner=owner,
        number=template.get("version"),
        reason=problem,
    )
