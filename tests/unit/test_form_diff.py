"""services.form_versions.diff_documents: readable differences between two definitions."""

import copy
import json
from pathlib import Path

from services.form_versions import diff_documents

SEED = (
    Path(__file__).resolve().parents[2]
    / "services"
    / "seed"
    / "form_definitions"
    / "hundesteuer-anmeldung.json"
)


def _doc():
    return json.loads(SEED.read_text(encoding="utf-8"))


def test_form_diff_identical_is_empty():
    assert diff_documents(_doc(), _doc()).empty


def test_form_diff_added_removed_changed_fields_and_pages():
    old, new = _doc(), _doc()
    new["pages"][0]["fields"].append({"key": "fax", "type": "phone", "label": {"de": "Fax", "en": "Fax"}})
    removed = new["pages"][0]["fields"].pop(0)
    new["pages"][0]["fields"][0]["label"] = {"de": "Familienname", "en": "Surname"}
    new["pages"][0]["fields"][0]["required"] = False
    new["pages"].append({"key": "extra", "title": {"de": "Extra", "en": "Extra"}, "fields": []})
    new["pages"][0]["title"] = {"de": "Halter", "en": "Keeper"}
    diff = diff_documents(old, new)
    assert [f.key for f in diff.fields_added] == ["fax"]
    assert [f.key for f in diff.fields_removed] == [removed["key"]]
    changed = {f.key: {c.attr for c in f.changes} for f in diff.fields_changed}
    assert changed["nachname"] >= {"label", "required"}
    assert [p.key for p in diff.pages_added] == ["extra"]
    assert [(p.key, [c.attr for c in p.changes]) for p in diff.pages_changed] == [("halter", ["title"])]
    assert not diff.empty


def test_form_diff_group_children_and_moves():
    old, new = _doc(), _doc()
    group = next(f for f in new["pages"][1]["fields"] if f["type"] == "group")
    child = group["fields"][0]
    child["required"] = not child.get("required", False)
    moved = new["pages"][0]["fields"].pop()
    new["pages"][1]["fields"].insert(0, moved)
    diff = diff_documents(old, new)
    changes = {f.key: {c.attr: (c.old, c.new) for c in f.changes} for f in diff.fields_changed}
    assert "required" in changes[child["key"]]
    assert changes[moved["key"]]["page"] == ("halter", "hunde")
    assert changes[group["key"]] == {"position": ("1", "2")}  # moved down; its child's change is not repeated


def test_form_diff_computed_and_malformed_documents():
    old, new = _doc(), copy.deepcopy(_doc())
    new["computed"] = {"fee_cents": 1234}
    diff = diff_documents(old, new)
    assert [c.attr for c in diff.form_changes] == ["computed"]
    assert not diff_documents({"pages": [{"no": "key"}, 5]}, {"pages": "x"}).pages_added
