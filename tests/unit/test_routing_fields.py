"""Routing rules and the form's fields: unknown fields refused, renames followed at publication."""

import copy

import pytest

from models import ConfigChange, RoutingRule
from services import admin_config, admin_services, designer, drafts
from services.errors import ValidationFailed
from services.field_renames import rename_keys, with_latest_keys
from services.notices import request_notice
from services.notices.context import build_context
from services.submissions import submit_draft
from services.workflow import link_service
from tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    ServiceFactory,
    ServiceRequestFactory,
    StaffFactory,
    published_workflow,
    started_request,
)

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


# --- requests filled in on an older version, submitted after the renaming publication ---------


def test_answer_keys_are_renamed_at_once_and_inside_repeating_groups():
    answers = {"a": 1, "b": 2, "anschrift": {"postcode": "47051"}, "hunde": [{"a": "x"}, "y"], "c": 3}
    renames = {"a": "b", "b": "a", "postcode": "plz"}  # a swap; an address part is no field key
    assert rename_keys(answers, renames) == {
        "a": 2, "b": 1, "anschrift": {"postcode": "47051"}, "hunde": [{"b": "x"}, "y"], "c": 3,
    }
    assert rename_keys({"alt": 1, "neu": "veraltet"}, {"alt": "neu"}) == {"neu": 1}  # the renamed one wins
    assert with_latest_keys({"a": 1}, ({"a": "b"}, {"b": "c"})) == {"c": 1}


def _published_with_rule(setup):
    service, north, definition, actor = setup
    link_service(service, published_workflow().definition)
    admin_config.save_rule(service, None, "Nord", NORTH_RULE, north, actor)
    return service, north, definition, actor


def test_a_draft_on_the_version_before_a_rename_is_routed_by_the_rewritten_rule(setup, db):
    service, north, definition, actor = _published_with_rule(setup)
    citizen = CitizenFactory()
    draft = drafts.start_draft(service, citizen)  # on version 1: answers carry "plz"
    drafts.save_answers(draft, {"plz": "47058"}, "angaben")
    _rename(definition, actor, "plz", "postleitzahl")
    version = admin_services.publish_definition(definition, actor, "umbenannt")
    assert version.renamed_fields == {"plz": "postleitzahl"}
    _rename(definition, actor, "postleitzahl", "plz_wohnort")  # and once more: the chain is followed
    admin_services.publish_definition(definition, actor, "nochmal")

    submitted = submit_draft(draft, citizen)

    req = submitted.request
    assert req.answers == {"plz": "47058"}  # stored as given, on the version it was given on
    assert req.department_id == north.id
    new_draft = drafts.start_draft(service, citizen)  # on the latest version: read as they are
    drafts.save_answers(new_draft, {"plz_wohnort": "47058"}, "angaben")
    assert submit_draft(new_draft, citizen).request.department_id == north.id


def test_the_orm_start_path_reads_older_answers_with_the_latest_keys(setup, db):
    service, north, definition, actor = _published_with_rule(setup)
    old_version = definition.latest
    _rename(definition, actor, "plz", "postleitzahl")
    admin_services.publish_definition(definition, actor, "umbenannt")
    req = started_request(service, answers={"plz": "47058"}, form_version=old_version)
    assert req.department_id == north.id


def test_a_notice_quotes_an_older_requests_answer_the_workflow_names_by_its_new_key(setup, db):
    service, _north, definition, actor = setup
    old_version = definition.latest
    _rename(definition, actor, "plz", "postleitzahl")
    admin_services.publish_definition(definition, actor, "umbenannt")
    req = ServiceRequestFactory(service=service, form_version=old_version, answers={"plz": "47058"})
    notice = request_notice(req, "approval", data={"answer_keys": ["postleitzahl"]})
    assert [(r["key"], r["value"]) for r in build_context(notice)["relevant_answers"]] == [("plz", "47058")]


def test_a_routing_rule_comparing_a_choice_with_its_label_is_refused(setup):
    service, north, definition, actor = setup
    definition.draft["pages"][0]["fields"].append(
        {"key": "art", "type": "choice", "label": {"de": "Art", "en": "Kind"}, "privacy": "public",
         "options": [{"value": "privat", "label": {"de": "Privat", "en": "Private"}}]}
    )
    with pytest.raises(ValidationFailed) as exc:
        admin_config.save_rule(service, None, "x", {"==": [{"var": "art"}, "Privat"]}, north, actor)
    assert exc.value.details["field"] == "rule" and "ihrem Wert „privat“" in exc.value.message
    admin_config.save_rule(service, None, "ok", {"==": [{"var": "art"}, "privat"]}, north, actor)
