"""The check-answers page's stamp, so the submit need not validate the same answers again.

"Angaben prüfen" validates every answer of the draft (it lists what is missing or invalid). When
it finds nothing, its form carries a stamp: an HMAC over the draft, its form version and that
version's checksum, the city's date and a digest of the answers. A submit that brings the stamp
back for exactly those answers, under the same form version, on the same day skips the second
validation (~0.9 ms, about a sixth of a submission's CPU; docs/performance.md). Anything else
validates in full as before: no stamp (an old page, a client of its own), answers changed in
another tab, a new day that moves a "today" bound of a date field, a forged or foreign value.
Validation depends on nothing else (forms/dynamic: the spec, the answers and `today()`).
"""

import hashlib
import hmac
import json

from flask import current_app

from forms.dynamic.types.dates import today


def stamp_for(draft, form_checksum: str) -> str:
    """The stamp for the draft's current answers (call only when they validated without problems)."""
    return hmac.new(_key(), _message(draft, form_checksum), hashlib.sha256).hexdigest()


def matches(stamp: str | None, draft, form_checksum: str) -> bool:
    """True if `stamp` was issued for exactly the draft's current answers, form and day."""
    if not isinstance(stamp, str) or len(stamp) != 64:
        return False
    return hmac.compare_digest(stamp, stamp_for(draft, form_checksum))


def _message(draft, form_checksum: str) -> bytes:
    answers = json.dumps(draft.answers or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         default=str)
    digest = hashlib.sha256(answers.encode()).hexdigest()
    return f"{draft.id}|{draft.form_version_id}|{form_checksum}|{today().isoformat()}|{digest}".encode()


def _key() -> bytes:
    return hashlib.sha256(b"amtsweg.review-stamp|" + current_app.config["SECRET_KEY"].encode()).digest()
