"""JSON typed or uploaded into the admin editors: one parser, one "line/column" error message."""

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from services.errors import ValidationFailed

INVALID_JSON = _l("Kein gültiges JSON (Zeile %(line)s, Spalte %(col)s: %(msg)s).")
# Far above any real form, workflow or condition; the bounds keep parsing and every later recursive
# step (validators, JsonLogic, templates) clear of Python's recursion limit and of huge inputs.
MAX_JSON_CHARS = 2_000_000
MAX_JSON_DEPTH = 64


def parse_json_text(text: str, field: str, message=INVALID_JSON):
    """The value of `text`; otherwise ValidationFailed(field=field) naming line and column.

    `message` may use %(line)s, %(col)s and %(msg)s. Too long or too deeply nested text is refused too.
    """
    if len(text) > MAX_JSON_CHARS:
        too_long = _("Der JSON-Text ist zu lang (höchstens %(limit)s Zeichen).", limit=MAX_JSON_CHARS)
        raise ValidationFailed(too_long, field=field)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = {"line": exc.lineno, "col": exc.colno, "msg": explain_decode_error(exc.msg)}
        raise ValidationFailed(str(message) % where, field=field) from exc
    except RecursionError as exc:
        raise _too_deep(field) from exc
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise _too_deep(field)
    return value


# Python's json module explains in English; these are all its messages (CPython 3.11-3.13).
_DECODE_ERRORS = {
    "Expecting value": _l("hier wird ein Wert erwartet"),
    "Expecting ',' delimiter": _l("hier fehlt ein Komma"),
    "Expecting ':' delimiter": _l("hier fehlt ein Doppelpunkt"),
    "Expecting property name enclosed in double quotes": _l(
        "hier wird ein Name in doppelten Anführungszeichen erwartet"
    ),
    "Extra data": _l("nach dem Ende des JSON steht noch etwas"),
    "Unterminated string starting at": _l("eine Zeichenkette wird nicht geschlossen"),
    "Invalid control character at": _l("ein Steuerzeichen (z. B. ein Zeilenumbruch) in einer Zeichenkette"),
    "Invalid \\escape": _l("ein ungültiges Escape-Zeichen (\\)"),
    "Invalid \\uXXXX escape": _l("ein ungültiges \\u-Escape"),
    "Illegal trailing comma before end of object": _l("ein Komma vor der schließenden Klammer"),
    "Illegal trailing comma before end of array": _l("ein Komma vor der schließenden Klammer"),
}


def explain_decode_error(msg: str) -> str:
    """json's English reason in the reader's language (unknown reasons stay as they are)."""
    explained = _DECODE_ERRORS.get(msg)
    return str(explained) if explained is not None else msg


def _too_deep(field: str) -> ValidationFailed:
    message = _("Das JSON ist zu tief verschachtelt (höchstens %(limit)s Ebenen).", limit=MAX_JSON_DEPTH)
    return ValidationFailed(message, field=field)


def _depth_exceeds(value, limit: int) -> bool:
    """True when objects/arrays nest more than `limit` levels (iterative: no recursion of our own)."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children)
    return False
