"""Answers given on an older form version, read with the field keys of the latest one.

Routing rules live with the service, not with one form version, and follow a renamed field when
the renaming version is published (docs/decisions/0012). A draft may stay on its older version,
so its answers still carry the old key. Publishing records its renames on the new version
(`FormVersion.renamed_fields`, {key in the previous version: key in this one}); before the rules
read the answers of an older version, they are translated through every later version's renames.
The same holds for the answer keys a workflow names for a notice's "relevant answers".
"""

from sqlalchemy import select

from extensions import db
from models import FormVersion


def rename_keys(answers: dict, renames: dict) -> dict:
    """`answers` with the keys of `renames` {old: new} renamed, all at once (swapped keys stay
    swapped), also inside the items of repeating groups. Other nested values (an address's parts)
    keep their keys. A renamed answer wins over a stale answer already stored under the new key."""
    renamed = {new: answers[old] for old, new in renames.items() if old in answers}
    result = {}
    for key, value in answers.items():
        if key in renames or key in renamed:
            continue
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):
            value = [rename_keys(item, renames) if isinstance(item, dict) else item for item in value]
        result[key] = value
    for key, value in renamed.items():
        if isinstance(value, list):
            value = [rename_keys(item, renames) if isinstance(item, dict) else item for item in value]
        result[key] = value
    return result


def renames_after(definition_id: int) -> dict[int, tuple[dict, ...]]:
    """{version id: the renames of every later version, oldest first} for the versions of one form
    whose answers need translating (the latest version, and any before the first rename, need none)."""
    rows = db.session.execute(
        select(FormVersion.id, FormVersion.renamed_fields)
        .where(FormVersion.definition_id == definition_id)
        .order_by(FormVersion.number)
    ).all()
    chains, later = {}, ()
    for version_id, renames in reversed(rows):
        if later:
            chains[version_id] = later
        if renames:
            later = (renames, *later)
    return chains


def with_latest_keys(answers: dict, chain: tuple[dict, ...]) -> dict:
    """The answers translated through a chain from renames_after (unchanged for an empty one)."""
    for renames in chain:
        answers = rename_keys(answers, renames)
    return answers


def chain_for(form_version_id: int | None) -> tuple[dict, ...]:
    """The renames published after `form_version_id`, oldest first (empty for the latest version)."""
    if form_version_id is None:
        return ()
    definition_id = db.session.scalar(
        select(FormVersion.definition_id).where(FormVersion.id == form_version_id)
    )
    if definition_id is None:
        return ()
    return renames_after(definition_id).get(form_version_id, ())


def latest_key(key: str, chain: tuple[dict, ...]) -> str:
    """What the field `key` of an older version is called in the latest one."""
    for renames in chain:
        key = renames.get(key, key)
    return key


def answers_with_latest_keys(answers: dict, form_version_id: int | None) -> dict:
    """The answers of a request or draft on `form_version_id`, with the field keys of its form's
    latest version (for rules written against that: routing)."""
    return with_latest_keys(answers or {}, chain_for(form_version_id))
