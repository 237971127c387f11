"""What a new request of a service starts with: workflow version, initial state, routing rules.

The same decisions as engine.prepare_start (which works on ORM objects), as plain data cached per
process for the submit path: reading the workflow and the routing rules costs two queries and ORM
loading per submission, although they change rarely. A cached plan is valid while the
configuration token it was read under (services.config_generation) is still current; the submit
reads that token with its draft lock, so a valid plan costs no round trip.
"""

from dataclasses import dataclass, field

from extensions import db
from models import Service
from services.field_renames import renames_after, with_latest_keys
from services.workflow.definitions import load_spec, workflow_for_service
from services.workflow.routing import routing_rules, rule_matches


@dataclass(frozen=True)
class PlannedRule:
    id: int
    label: str
    condition: object
    department_id: int
    department_active: bool


@dataclass(frozen=True)
class StartPlan:
    workflow_version_id: int
    initial_state: str
    initial_kind: str
    rules: tuple[PlannedRule, ...]
    # {form version id: later versions' field renames}: the rules read the latest form's keys
    renames: dict = field(default_factory=dict)

    def route(
        self, answers: dict, default_department_id: int, form_version_id: int | None = None
    ) -> tuple[int, PlannedRule | None]:
        """(department id, rule): the first matching rule of an active department, else the default.

        Answers given on an older form version are read with the latest version's field keys."""
        chain = self.renames.get(form_version_id)
        if chain:
            answers = with_latest_keys(answers, chain)
        for rule in self.rules:
            if rule.department_active and rule_matches(rule.condition, answers)[0]:
                return rule.department_id, rule
        return default_department_id, None

    def routed_event_data(self, department_id: int, rule: PlannedRule | None) -> dict:
        return routed_event_data(department_id, rule, self.workflow_version_id, self.initial_state)


def routed_event_data(department_id: int, rule, workflow_version_id: int, state: str) -> dict:
    """The data of a request's 'routed' event (`rule`: a RoutingRule or PlannedRule, None = default)."""
    return {
        "department": department_id,
        "rule": rule.id if rule else None,
        "rule_label": rule.label if rule else "",
        "workflow_version": workflow_version_id,
        "state": state,
    }


_plans: dict[int, tuple[str, StartPlan]] = {}  # service id → (config token, plan)


def start_plan(service_id: int, config_token: str | None) -> StartPlan:
    """The plan for new requests of the service; read from the database unless cached under `config_token`.

    `config_token` None (no configuration change recorded yet) is never cached.
    """
    cached = _plans.get(service_id)
    if config_token is not None and cached is not None and cached[0] == config_token:
        return cached[1]
    service = db.session.get(Service, service_id)
    version = workflow_for_service(service)
    spec = load_spec(version)
    rules = tuple(
        PlannedRule(r.id, r.label, r.condition, r.department_id, r.department.active)
        for r in routing_rules(service)
    )
    definition = service.form_definition
    renames = renames_after(definition.id) if definition is not None else {}
    plan = StartPlan(version.id, spec.initial, spec.kind(spec.initial), rules, renames)
    if config_token is not None:
        _plans[service_id] = (config_token, plan)
    return plan
