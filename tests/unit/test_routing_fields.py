"""Routing rules and the form's fields: unknown fields refused, renames followed at publication."""

import copy

import pytest

from models import ConfigChange, RoutingRule
from services import admin_config, admin_services, designer
from services.errors import ValidationFailed
from tests.factories import DepartmentFactory, ServiceFactory, StaffFactory

PLZ_FORM = {
    "schema_version": 1,
    "title": {"de": "Antrag", "en": "Application"},
    "pages": [{"key": "angaben", "title": {"de": "Angaben", "en": "Details"}, "fields": [
        {"key": "plz", "type": "postcode", "label": {"de": "PLZ", "en": "Postcode"}, "privacy": "public"},
        {"key": "anschrift", "type": "address", "label": {"de": "Anschrift", "en": "Address"},
         "privacy": "personal"},
        {"key": "hinweis", "type": "info", "label": {"de": "Hinweis", "en": "Note"},
         "text": {"de": "x", "en": "x"}},
    ]}],
}  # fmt: skip
NORTH_RULE = {"<=": [47051, {"var": "plz"}, 47139]}


@pytest.fixture
def setup(db):
    service = ServiceFactory()
    north = DepartmentFactory(slug="bezirksamt-nord", name_de="Bezirksamt Nord")
    definition = admin_services.ensure_definition(service)
    definition.draft = copy.deepcopy(PLZ_FORM)
    actor = StaffFactory()
    admin_services.publish_definition(definition, actor, "v1")
    return service, north, definition, actor


def _rename(definition, actor, old, new):
    data = designer.field_to_data(designer.find_field(definition.draft, old)[1])
    edit = designer.update_field(definition.draft, old, {**data, "key": new})
    admin_services.save_draft(definition, edit.document, actor, "x", renamed=edit.renamed)


def test_routing_rule_naming_an_unknown_field_is_refused(setup):
    service, north, _definition, actor = setup
    with pytest.raises(ValidationFailed) as exc:
        admin_config.save_rule(service, None, "x", {"==": [{"var": "gibtsnicht"}, "x"]}, north, actor)
    assert exc.value.details["field"] == "rule" and "„gibtsnicht“" in exc.value.message
    with pytest.raises(ValidationFailed):  # an info text gives no answer to route by
        admin_config.save_rule(service, None, "x", {"==": [{"var": "hinweis"}, "x"]}, north, actor)
    for condition in (NORTH_RULE, {"==": [{"var": "anschrift.postcode"}, "47051"]}):
        admin_config.save_rule(service, None, "ok", condition, north, actor)


def test_routing_rule_may_name_a_field_only_the_draft_has(setup):
    service, north, definition, actor = setup
    _rename(definition, actor, "plz", "postleitzahl")
    rule = admin_config.save_rule(service, None, "neu", {"==": [{"var": "postleitzahl"}, "1"]}, north, actor)
    assert rule.id is not None


def test_routing_rules_follow_a_rename_when_the_form_is_published(setup, db):
    service, north, definition, actor = setup
    rule = admin_config.save_rule(service, None, "Nord", NORTH_RULE, north, actor)
    _rename(definition, actor, "plz", "zwischen")
    _rename(definition, actor, "zwischen", "postleitzahl")
    assert definition.draft_renames == {"plz": "postleitzahl"}
    assert rule.condition == NORTH_RULE  # live until the renaming form is published
    assert admin_config.rules_missing_fields(service, definition.draft) == [(rule, ["plz"])]
    assert admin_config.rules_missing_fields(service, definition.draft, definition.draft_renames) == []
    admin_services.publish_definition(definition, actor, "umbenannt")
    db.session.expire_all()
    rule = db.session.get(RoutingRule, rule.id)
    assert rule.condition == {"<=": [47051, {"var": "postleitzahl"}, 47139]}
    assert definition.draft_renames == {}
    assert db.session.query(ConfigChange).filter_by(object_type="routing", action="rename_field").count() == 1


def test_routing_renames_back_and_swaps(setup):
    _service, _north, definition, actor = setup
    _rename(definition, actor, "plz", "postleitzahl")
    _rename(definition, actor, "postleitzahl", "plz")
    assert definition.draft_renames == {}
    condition = {"and": [{"var": "plz"}, {"var": "anschrift.postcode"}]}
    swapped, applied = admin_config.follow_renames(condition, {"plz": "anschrift", "anschrift": "plz"})
    assert swapped == {"and": [{"var": "anschrift"}, {"var": "plz.postcode"}]}
    assert applied == {"plz": "anschrift", "anschrift": "plz"}


def test_routing_rules_missing_a_removed_field_are_listed(setup):
    service, north, definition, actor = setup
    rule = admin_config.save_rule(service, None, "Nord", NORTH_RULE, north, actor)
    edit = designer.delete_field(definition.draft, "plz")
    assert admin_config.rules_missing_fields(service, edit.document) == [(rule, ["plz"])]
    assert admin_config.rules_missing_fields(service, definition.draft) == []
