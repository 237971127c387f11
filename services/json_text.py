"""JSON typed or uploaded into the admin editors: one parser, one "line/column" error message."""

import json

from flask_babel import lazy_gettext as _l

from services.errors import ValidationFailed

INVALID_JSON = _l("Kein gültiges JSON (Zeile %(line)s, Spalte %(col)s: %(msg)s).")


def parse_json_text(text: str, field: str, message=INVALID_JSON):
    """The value of `text`; otherwise ValidationFailed(field=field) naming line and column.

    `message` may use %(line)s, %(col)s and %(msg)s.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
        raise ValidationFailed(str(message) % where, field=field) from exc
