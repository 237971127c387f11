"""Stateful property test: submit / claim / transition / forward / withdraw across roles.

An independent model (the workflow documents read as plain data, memberships, proposals) predicts
whether each step is legal; the engine must agree, write exactly one event per legal step, change
nothing on an illegal one, and access rules must show citizens only their own requests and clerks
only their departments' requests.
"""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from extensions import db
from models import RequestEvent, ServiceRequest
from services import access
from services.assignment import claim_request
from services.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from services.workflow import (
    CONFIRM,
    RETURN,
    apply_transition,
    default_document,
    forward_request,
    open_proposal,
    verify_chains,
)
from tests.factories import CitizenFactory, DepartmentFactory, ServiceFactory, clerk_of, started_request

DOCS = {"standard": default_document(), "vier_augen": default_document("vier_augen")}
TRANSITIONS = {v: {t["name"]: t for t in doc["transitions"]} for v, doc in DOCS.items()}
ALL_NAMES = sorted({n for names in TRANSITIONS.values() for n in names} | {CONFIRM, RETURN})


def full_data(transition: dict) -> dict:
    """Inputs that satisfy every field and comment requirement of a transition."""
    data = {f["key"]: "Angabe" for f in transition.get("fields", [])}
    return {**data, "comment": "Vermerk"}


class WorkflowMachine(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self):
        super().__init__()
        self.depts = [DepartmentFactory(), DepartmentFactory()]
        a, b = self.depts
        self.clerks = [clerk_of(a), clerk_of(a), clerk_of(b)]
        self.citizens = [CitizenFactory(), CitizenFactory()]
        self.services = {"standard": ServiceFactory(department=a), "vier_augen": ServiceFactory(department=a)}
        self.model = {}  # request id -> dict(state, dept, applicant, assignee, variant, proposal, events)

    def teardown(self):
        db.session.rollback()  # the services only flush: rolling back empties everything again

    # --- rules ---------------------------------------------------------------------------------

    @initialize(target=requests)
    def first_four_eyes_request(self):
        return self.submit(0, "vier_augen")

    @rule(target=requests, citizen=st.integers(0, 1), variant=st.sampled_from(["standard", "vier_augen"]))
    def submit(self, citizen, variant):
        req = started_request(
            service=self.services[variant], variant=variant, applicant=self.citizens[citizen]
        )
        self.model[req.id] = {
            "state": "eingegangen", "dept": self.depts[0].id, "applicant": self.citizens[citizen].id,
            "assignee": None, "variant": variant, "proposal": None, "events": 1,
        }  # fmt: skip
        return req

    @rule(req=requests, clerk=st.integers(0, 2))
    def claim(self, req, clerk):
        m, actor = self.model[req.id], self.clerks[clerk]
        member = m["dept"] in actor.department_ids()
        legal = member and m["assignee"] in (None, actor.id)
        try:
            claim_request(req, actor, req.row_version)
        except (PermissionDenied, TransitionNotAllowed):
            assert not legal
            return
        assert legal
        if m["assignee"] is None:
            m["assignee"], m["events"] = actor.id, m["events"] + 1

    @rule(req=requests, who=st.integers(0, 4), name=st.sampled_from(ALL_NAMES))
    def transition(self, req, who, name):
        actor = (self.clerks + self.citizens)[who]
        self._try(req, actor, name)

    @rule(req=requests, who=st.integers(0, 4), pick=st.integers(0, 20))
    def plausible_transition(self, req, who, pick):
        """A transition out of the current state by someone involved: reaches deep states quickly."""
        m = self.model[req.id]
        names = [CONFIRM, RETURN] if m["proposal"] else []
        names += [n for n, t in TRANSITIONS[m["variant"]].items() if m["state"] in t["from"]]
        actors = [c for c in self.clerks if m["dept"] in c.department_ids()] + [req.applicant]
        if names:
            self._try(req, actors[who % len(actors)], names[pick % len(names)])

    @rule(req=requests)
    def withdraw(self, req):
        self._try(req, req.applicant, "zurueckziehen")

    @rule(req=requests, clerk=st.integers(0, 2), dept_index=st.integers(0, 1))
    def forward(self, req, clerk, dept_index):
        m, actor, dept = self.model[req.id], self.clerks[clerk], self.depts[dept_index]
        # not while a decision awaits its second pair of eyes (the proposal belongs to this department),
        # nor once decided or closed (the deciding department closes the case)
        legal = (m["dept"] in actor.department_ids() and dept.id != m["dept"] and m["proposal"] is None
                 and m["state"] not in ("genehmigt", "abgelehnt", "abgeschlossen", "zurueckgezogen"))
        try:
            forward_request(req, dept, actor, "Zuständigkeit", req.row_version)
        except (PermissionDenied, ValidationFailed, TransitionNotAllowed) as exc:
            assert not legal, exc
            return
        assert legal
        m["dept"], m["assignee"], m["events"] = dept.id, None, m["events"] + 1

    # --- the model's idea of legality ------------------------------------------------------------

    def _expected(self, m, actor, name):
        """(legal, new state) according to the model."""
        roles = self._roles(m, actor)
        if m["proposal"] is not None and name in (CONFIRM, RETURN):
            proposer, proposed = m["proposal"]
            if actor.id == proposer:
                return False, None
            spec = TRANSITIONS[m["variant"]][proposed]
            if not roles & set(spec["roles"]):
                return False, None
            return True, (spec["to"] if name == CONFIRM else "in_bearbeitung")
        spec = TRANSITIONS[m["variant"]].get(name)
        if spec is None or m["state"] not in spec["from"] or not roles & set(spec["roles"]):
            return False, None
        if m["proposal"] is not None and spec.get("second_approver"):
            return False, None
        return True, ("zur_freigabe" if spec.get("second_approver") else spec["to"])

    def _roles(self, m, actor):
        if actor.is_citizen:
            return {"citizen"} if actor.id == m["applicant"] else set()
        return {"clerk"} if m["dept"] in actor.department_ids() else set()

    def _try(self, req, actor, name):
        m = self.model[req.id]
        legal, new_state = self._expected(m, actor, name)
        spec = TRANSITIONS[m["variant"]].get(name, {})
        data = full_data(spec) if name not in (CONFIRM, RETURN) else {"comment": "Vermerk"}
        try:
            apply_transition(req, name, actor, data, req.row_version)
        except TransitionNotAllowed:
            assert not legal, (m["state"], name)
            assert req.state == m["state"]
            return
        assert legal, (m["state"], name, actor)
        assert req.state == new_state
        if new_state != "zur_freigabe":
            m["proposal"] = None  # confirmed, returned or superseded by a withdrawal
        else:
            m["proposal"] = (actor.id, name)
        m["state"], m["events"] = new_state, m["events"] + 1

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def one_event_per_step(self):
        counts = dict(db.session.execute(
            select(RequestEvent.request_id, func.count(RequestEvent.id)).group_by(RequestEvent.request_id)
        ).all())  # fmt: skip
        assert counts == {rid: m["events"] for rid, m in self.model.items()}

    @invariant()
    def visibility_follows_ownership_and_department(self):
        reqs = db.session.scalars(select(ServiceRequest)).all()
        for citizen in self.citizens:
            seen = {r.id for r in reqs if access.citizen_may_view(citizen, r)}
            assert seen == {rid for rid, m in self.model.items() if m["applicant"] == citizen.id}
            assert not any(access.staff_may_view(citizen, r) for r in reqs)
        for clerk in self.clerks:
            seen = {r.id for r in reqs if access.staff_may_view(clerk, r)}
            assert seen == {rid for rid, m in self.model.items() if m["dept"] in clerk.department_ids()}

    @invariant()
    def states_and_proposals_match_the_model(self):
        for rid, m in self.model.items():
            req = db.session.get(ServiceRequest, rid)
            assert (req.state, req.department_id) == (m["state"], m["dept"])
            assert (open_proposal(req) is not None) == (m["proposal"] is not None)

    @invariant()
    def chains_stay_intact(self):
        assert verify_chains() == []


@pytest.mark.slow
def test_workflow_state_machine(db, monkeypatch):
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)
    run_state_machine_as_test(
        WorkflowMachine,
        settings=settings(
            max_examples=40, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
