"""services.scenarios: expected pages, fee and routed department checked against the draft."""

import pytest

from models import FormDefinition, RoutingRule
from services import scenarios
from services.errors import ValidationFailed
from tests.factories import DepartmentFactory, ServiceFactory

DOC = {
    "schema_version": 1,
    "title": {"de": "Antrag", "en": "Application"},
    "pages": [
        {"key": "start", "title": {"de": "Start", "en": "Start"}, "fields": [
            {"key": "art", "type": "text", "label": {"de": "Art", "en": "Kind"}, "required": True}]},
        {"key": "firma", "title": {"de": "Firma", "en": "Company"},
         "condition": {"==": [{"var": "art"}, "gewerblich"]},
         "fields": [{"key": "firmenname", "type": "text", "label": {"de": "Firma", "en": "Company"}}]},
    ],
    "computed": {"fee_cents": {"if": [{"==": [{"var": "art"}, "gewerblich"]}, 5000, 2000]}},
}  # fmt: skip


@pytest.fixture
def definition(db):
    service = ServiceFactory(department=DepartmentFactory(slug="ordnungsamt"))
    north = DepartmentFactory(slug="bezirksamt-nord")
    db.session.add(
        RoutingRule(
            service_id=service.id,
            position=0,
            condition={"==": [{"var": "art"}, "gewerblich"]},
            department_id=north.id,
        )
    )
    definition = FormDefinition(service=service, draft=DOC)
    db.session.add(definition)
    db.session.flush()
    return definition


def test_scenarios_pass_and_fail_with_clear_messages(definition):
    scenarios.save_scenario(
        definition,
        "privat",
        {"art": "privat"},
        {"pages": ["start"], "fee_cents": 2000, "department": "ordnungsamt"},
    )
    scenarios.save_scenario(
        definition,
        "gewerblich",
        {"art": "gewerblich"},
        {"pages": ["start"], "fee_cents": 2000, "department": "ordnungsamt"},
    )
    ok, bad = scenarios.run_scenarios(definition)
    assert ok.passed and not bad.passed
    assert len(bad.failures) == 3
    assert (
        "start, firma" in bad.failures[0]
        and "5000" in bad.failures[1]
        and "bezirksamt-nord" in bad.failures[2]
    )
    assert scenarios.failing([ok, bad]) == [bad]


def test_scenarios_check_only_what_is_expected(definition):
    scenarios.save_scenario(definition, "nur Gebühr", {"art": "gewerblich"}, {"fee_cents": 5000})
    [result] = scenarios.run_scenarios(definition)
    assert result.passed and result.actual.pages == ["start", "firma"]


def test_scenarios_fail_when_the_draft_is_invalid(definition):
    scenarios.save_scenario(definition, "x", {}, {"pages": ["start"]})
    broken = dict(DOC, pages=[])
    [result] = scenarios.run_scenarios(definition, broken)
    assert not result.passed and "Fehler" in result.failures[0]


def test_scenarios_hidden_answers_do_not_count(definition):
    outcome = scenarios.outcome(definition.service, DOC, {"art": "privat", "firmenname": "X GmbH"})
    assert outcome.pages == ["start"] and outcome.fee_cents == 2000 and outcome.department == "ordnungsamt"


def test_scenarios_parse_input(app_ctx):
    assert scenarios.parse_expected("start\nfirma", "5000", "ordnungsamt") == {
        "pages": ["start", "firma"],
        "fee_cents": 5000,
        "department": "ordnungsamt",
    }
    assert scenarios.parse_expected("", "", "") == {}
    with pytest.raises(ValidationFailed) as exc:
        scenarios.parse_expected("", "zehn", "")
    assert exc.value.details["field"] == "fee_cents"
    with pytest.raises(ValidationFailed):
        scenarios.parse_answers("[]")
    with pytest.raises(ValidationFailed):
        scenarios.parse_answers("{")
