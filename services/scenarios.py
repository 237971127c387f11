"""Scenario tests for a form's logic: saved answer sets with the expected outcome.

A scenario expects any of: the visible pages (list of page keys, in order), the fee in cents
(`fee_cents`, computed value or the service's flat fee) and the routed department (slug).
They run against the draft on every change (results shown in the designer) and before
publishing: a failing scenario blocks publishing.
"""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from forms.dynamic import compute_values, prune_hidden, visible_pages
from models import FormDefinition, FormScenario
from services import config_log
from services.config_log import N_
from services.errors import ValidationFailed
from services.formdefs import load_spec, validate_definition
from services.json_text import parse_json_text
from services.workflow import test_routing


@dataclass
class Outcome:
    pages: list[str]
    fee_cents: int
    department: str


@dataclass
class ScenarioResult:
    scenario: FormScenario
    passed: bool
    failures: list[str] = field(default_factory=list)
    actual: Outcome | None = None


def scenarios_of(definition) -> list[FormScenario]:
    query = select(FormScenario).where(FormScenario.definition_id == definition.id)
    return list(db.session.scalars(query.order_by(FormScenario.id)))


def outcome(service, document: dict, answers: dict) -> Outcome:
    """What the form and the routing rules make of `answers` (document must be valid)."""
    spec = load_spec(document)
    answers = prune_hidden(spec, answers or {})
    computed = compute_values(spec, answers, service.id)
    fee = computed["fee_cents"] if "fee_cents" in spec.computed else service.fee_cents
    department = test_routing(service, answers).department
    return Outcome([p.key for p in visible_pages(spec, answers)], int(fee or 0), department.slug)


def run_scenarios(definition, document: dict | None = None) -> list[ScenarioResult]:
    """Run every scenario of `definition` against `document` (default: the draft)."""
    document = definition.draft if document is None else document
    scenarios = scenarios_of(definition)
    if not scenarios:
        return []
    if validate_definition(document):
        message = _("Das Formular enthält Fehler; die Szenarien können erst danach laufen.")
        return [ScenarioResult(s, False, [message]) for s in scenarios]
    return [_run(definition.service, document, s) for s in scenarios]


def _run(service, document: dict, scenario: FormScenario) -> ScenarioResult:
    actual = outcome(service, document, scenario.answers)
    expected = scenario.expected or {}
    failures = []
    if "pages" in expected and list(expected["pages"]) != actual.pages:
        failures.append(
            _(
                "Sichtbare Seiten: erwartet %(expected)s, tatsächlich %(actual)s.",
                expected=", ".join(expected["pages"]) or "–",
                actual=", ".join(actual.pages) or "–",
            )
        )
    if expected.get("fee_cents") is not None and int(expected["fee_cents"]) != actual.fee_cents:
        failures.append(
            _(
                "Gebühr: erwartet %(expected)s Cent, tatsächlich %(actual)s Cent.",
                expected=expected["fee_cents"],
                actual=actual.fee_cents,
            )
        )
    if expected.get("department") and expected["department"] != actual.department:
        failures.append(
            _(
                "Zuständiges Amt: erwartet %(expected)s, tatsächlich %(actual)s.",
                expected=expected["department"],
                actual=actual.department,
            )
        )
    return ScenarioResult(scenario, not failures, failures, actual)


def failing(results: list[ScenarioResult]) -> list[ScenarioResult]:
    return [r for r in results if not r.passed]


def parse_expected(pages_text: str, fee_text: str, department: str) -> dict:
    """Expected outcome from the scenario form; raises ValidationFailed(field=...) on bad input."""
    expected: dict = {}
    pages = [p.strip() for p in pages_text.replace(",", "\n").splitlines() if p.strip()]
    if pages:
        expected["pages"] = pages
    if fee_text.strip():
        raw = fee_text.strip().replace(".", "").replace(",", "")
        if not raw.isdigit():
            message = _("Bitte geben Sie die Gebühr in Cent als ganze Zahl ein.")
            raise ValidationFailed(message, field="fee_cents")
        expected["fee_cents"] = int(raw)
    if department.strip():
        expected["department"] = department.strip()
    return expected


def parse_answers(text: str) -> dict:
    """Answers from the scenario form's JSON text; raises ValidationFailed(field="answers")."""
    answers = parse_json_text(
        text or "{}",
        "answers",
        _l("Die Antworten sind kein gültiges JSON (Zeile %(line)s, Spalte %(col)s: %(msg)s)."),
    )
    if not isinstance(answers, dict):
        raise ValidationFailed(
            _('Die Antworten müssen ein JSON-Objekt sein, z. B. {"feld": "Wert"}.'), field="answers"
        )
    return answers


def save_scenario(
    definition,
    name: str,
    answers: dict,
    expected: dict,
    actor=None,
    summary: config_log.LogText | None = None,
) -> FormScenario:
    """Store a scenario and record the change in the department's configuration log."""
    scenario = FormScenario(
        definition_id=definition.id, name=name.strip(), answers=answers, expected=expected
    )
    db.session.add(scenario)
    db.session.flush()
    summary = summary or N_("Szenario „%(name)s“ angelegt", name=scenario.name)
    _log_change(definition, actor, "create", summary)
    return scenario


def delete_scenario(scenario: FormScenario, actor=None) -> None:
    definition, name = db.session.get(FormDefinition, scenario.definition_id), scenario.name
    db.session.delete(scenario)
    db.session.flush()
    _log_change(definition, actor, "delete", N_("Szenario „%(name)s“ gelöscht", name=name))


def _log_change(definition, actor, action: str, summary: config_log.LogText) -> None:
    service = definition.service
    config_log.record_change(service.department, actor, "scenario", service.slug, action, summary)
