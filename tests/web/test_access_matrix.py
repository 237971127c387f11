"""Route × role access matrix over every endpoint of the app.

`MATRIX` must name every endpoint in `app.url_map`: a new route without a row here fails
`test_matrix_covers_every_route`, so whoever adds a route decides who may use it. Each row is tested
for seven roles against one shared world; ids of other people's objects must answer 404.
"""

import io

import pytest
from flask import g
from sqlalchemy import select

from extensions import db as _db
from extensions import limiter
from models import (
    FormScenario,
    InboxItem,
    MembershipRole,
    Message,
    Notice,
    NoticeState,
    OutboxJob,
    OutboxState,
    RoutingRule,
)
from models.base import new_public_id
from services.notices.files import notice_dir
from tests.factories import (
    PASSWORD,
    CitizenFactory,
    DepartmentFactory,
    ServiceFactory,
    StaffFactory,
    clerk_of,
    form_version_for,
    started_request,
)

ROLES = ["anonymous", "citizen", "other_citizen", "clerk", "clerk_other_dept", "dept_admin", "platform_admin"]
# allowed / redirected to the login page / public (any answer but 401/403 or a login redirect)
OK, LOGIN, OPEN = "ok", "login", "open"


def _rule(**by_role):
    """Expectation per role; unnamed roles inherit `rest`."""
    rest = by_role.pop("rest")
    return {role: by_role.get(role, rest) for role in ROLES}


PUBLIC = _rule(rest=OPEN)
LOGGED_IN = _rule(anonymous=LOGIN, rest=OK)
OWN_REQUEST = _rule(anonymous=LOGIN, citizen=OK, rest=404)  # the applicant only; anyone else: 404
OWN_REQUEST_NO_LINK = _rule(anonymous=LOGIN, rest=404)  # a status-link action: the world's request has none
CLERK_AREA = _rule(anonymous=LOGIN, clerk=OK, clerk_other_dept=OK, dept_admin=OK, rest=403)
CLERK_REQUEST = _rule(anonymous=LOGIN, clerk=OK, dept_admin=OK, clerk_other_dept=404, rest=403)
PLATFORM = _rule(anonymous=LOGIN, platform_admin=OK, rest=404)
PLATFORM_HIDDEN = _rule(platform_admin=OK, rest=404)  # the job pages answer 404 even to anonymous users
DEPT_ADMIN = _rule(anonymous=LOGIN, dept_admin=OK, platform_admin=OK, rest=404)

SERVICE = "/verwaltung/leistungen/{service}"
FORM = SERVICE + "/formular"

# endpoint -> (method, path template filled from the world, expectations)
MATRIX = {
    "static": ("GET", "/static/css/amtsweg.css", PUBLIC),
    "public.index": ("GET", "/", PUBLIC),
    "public.catalog": ("GET", "/leistungen", PUBLIC),
    "public.service": ("GET", "/leistungen/{service_slug}", PUBLIC),
    "public.page": ("GET", "/seite/impressum", PUBLIC),
    "public.favicon": ("GET", "/favicon.ico", PUBLIC),
    "public.healthz": ("GET", "/healthz", PUBLIC),
    "public.readyz": ("GET", "/readyz", PUBLIC),
    "verify.index": ("GET", "/verify", PUBLIC),
    "verify.upload": ("POST", "/verify", PUBLIC),
    "verify.code": ("GET", "/verify/UNBEKANNT", PUBLIC),
    "verify.code_json": ("GET", "/verify/UNBEKANNT.json", PUBLIC),
    "verify.crl": ("GET", "/verify/pki/root.crl", PUBLIC),
    "verify.root_certificate": ("GET", "/verify/pki/root.crt", PUBLIC),
    "auth.login": ("GET", "/anmelden", PUBLIC),
    "auth.register": ("GET", "/registrieren", PUBLIC),
    "auth.register_sent": ("GET", "/registrieren/postfach", PUBLIC),
    "auth.password_forgot": ("GET", "/passwort-vergessen", PUBLIC),
    "auth.password_forgot_sent": ("GET", "/passwort-vergessen/gesendet", PUBLIC),
    "auth.password_reset": ("GET", "/passwort-neu/kaputt", PUBLIC),
    "auth.email_confirm": ("GET", "/bestaetigen/kaputt", PUBLIC),
    "auth.invite_accept": ("GET", "/einladung/kaputt", PUBLIC),
    "auth.account": ("GET", "/konto", LOGGED_IN),
    "auth.confirmation_resend": ("POST", "/konto/bestaetigung", LOGGED_IN),
    "auth.password_change": ("POST", "/konto/passwort", LOGGED_IN),
    "auth.mail_language_change": ("POST", "/konto/sprache", LOGGED_IN),
    "auth.data_export": ("GET", "/konto/daten", LOGGED_IN),
    "auth.account_delete": ("GET", "/konto/loeschen", LOGGED_IN),  # staff: a page saying who closes theirs
    "auth.account_deleted": ("GET", "/konto/geloescht", PUBLIC),  # only after a deletion, else to "/"
    "auth.logout": ("POST", "/abmelden", _rule(rest=OPEN)),
    "citizen.start": ("GET", "/antrag/{service_slug}/starten", PUBLIC),
    "citizen.page": ("GET", "/antrag/{draft}/angaben", OWN_REQUEST),
    "citizen.review": ("GET", "/antrag/{draft}/pruefen", OWN_REQUEST),
    "citizen.submit": ("POST", "/antrag/{draft}/absenden", OWN_REQUEST),
    "citizen.draft_delete": ("POST", "/antrag/{draft}/loeschen", OWN_REQUEST),
    "citizen.my_requests": ("GET", "/meine-antraege", _rule(anonymous=LOGIN, rest=OK)),
    "inbox.index": ("GET", "/postfach/", LOGGED_IN),
    "inbox.open_item": ("GET", "/postfach/{inbox_item}", OWN_REQUEST),
    "inbox.mark_all_read": ("POST", "/postfach/alle-gelesen", LOGGED_IN),  # only the user's own entries
    # Only requests without an account, to the user's confirmed address: the world's has an applicant.
    "citizen.claim_request": ("POST", "/meine-antraege/zuordnen/{req}", _rule(anonymous=LOGIN, rest=404)),
    "citizen.request_detail": ("GET", "/antraege/{req}", OWN_REQUEST),
    "citizen.confirmation": ("GET", "/antraege/{req}/bestaetigung", OWN_REQUEST),
    "citizen.attachment_download": ("GET", "/antraege/{req}/dateien/{attachment}", OWN_REQUEST),
    "citizen.notice_download": ("GET", "/antraege/{req}/dokumente/{notice}", OWN_REQUEST),
    # A request of an account has no status link, and a wrong token opens nothing: 404 for everyone.
    "citizen.request_access": ("GET", "/antraege/{req}/zugang/" + "A" * 43, _rule(rest=404)),
    "citizen.request_access_renew": ("POST", "/antraege/{req}/zugang/erneuern", OWN_REQUEST_NO_LINK),
    "citizen.status_link_resend": ("GET", "/antraege/statuslink", PUBLIC),
    "citizen.status_link_sent": ("GET", "/antraege/statuslink/gesendet", PUBLIC),
    "citizen_requests.question_answer": ("GET", "/antraege/{req}/rueckfrage/{question}", OWN_REQUEST),
    "citizen_requests.request_withdraw": ("GET", "/antraege/{req}/zurueckziehen", OWN_REQUEST),
    "clerk.queue": ("GET", "/sachbearbeitung/", CLERK_AREA),
    "clerk.queue_export": ("GET", "/sachbearbeitung/export.csv", CLERK_AREA),
    "clerk.queue_claim_next": ("POST", "/sachbearbeitung/naechster", CLERK_AREA),
    "clerk.dashboard": ("GET", "/sachbearbeitung/uebersicht", CLERK_AREA),
    "clerk.approvals": ("GET", "/sachbearbeitung/freigaben", CLERK_AREA),
    "clerk.request_detail": ("GET", "/sachbearbeitung/antraege/{req}", CLERK_REQUEST),
    "clerk.attachment_download": (
        "GET", "/sachbearbeitung/antraege/{req}/dateien/{attachment}", CLERK_REQUEST,
    ),
    "clerk.notice_download": ("GET", "/sachbearbeitung/antraege/{req}/bescheide/{notice}", CLERK_REQUEST),
    "clerk.notice_retry": (  # the notice is issued: the allowed roles get "already issued" (400)
        "POST", "/sachbearbeitung/antraege/{req}/bescheide/{notice}/erneut-erzeugen", CLERK_REQUEST,
    ),
    "clerk.request_claim": ("POST", "/sachbearbeitung/antraege/{req}/uebernehmen", CLERK_REQUEST),
    "clerk.request_release": ("POST", "/sachbearbeitung/antraege/{req}/zurueckgeben", CLERK_REQUEST),
    "clerk.request_assign": ("POST", "/sachbearbeitung/antraege/{req}/zuweisen", CLERK_REQUEST),
    "clerk.request_note": ("POST", "/sachbearbeitung/antraege/{req}/notiz", CLERK_REQUEST),
    "clerk.request_retention_hold": ("POST", "/sachbearbeitung/antraege/{req}/aufbewahrung", CLERK_REQUEST),
    "clerk.request_retention_lift": ("POST", "/sachbearbeitung/antraege/{req}/aufbewahrung/aufheben",
                                     CLERK_REQUEST),
    "clerk.request_forward": ("POST", "/sachbearbeitung/antraege/{req}/weiterleiten", CLERK_REQUEST),
    "clerk.request_transition": ("POST", "/sachbearbeitung/antraege/{req}/aktion/genehmigen", CLERK_REQUEST),
    "ops.index": ("GET", "/betrieb/", PLATFORM),
    "ops.departments": ("GET", "/betrieb/aemter", PLATFORM),
    "ops.users": ("GET", "/betrieb/mitarbeitende", PLATFORM),
    "ops.user_create": ("GET", "/betrieb/mitarbeitende/neu", PLATFORM),
    "ops.user_detail": ("GET", "/betrieb/mitarbeitende/{staff}", PLATFORM),
    "ops.user_deactivate": ("POST", "/betrieb/mitarbeitende/{staff}/sperren", PLATFORM),
    "ops.user_reactivate": ("POST", "/betrieb/mitarbeitende/{staff}/entsperren", PLATFORM),
    "ops.invitation_send": ("POST", "/betrieb/mitarbeitende/{staff}/einladung", PLATFORM),
    "ops.membership_add": ("POST", "/betrieb/mitarbeitende/{staff}/mitgliedschaften", PLATFORM),
    "ops.membership_remove": (
        "POST", "/betrieb/mitarbeitende/{staff}/mitgliedschaften/{staff_membership}/entfernen", PLATFORM,
    ),
    "admin.index": ("GET", "/verwaltung/", DEPT_ADMIN),
    "admin.config_changes": ("GET", "/verwaltung/aemter/{dept}/aenderungen", DEPT_ADMIN),
    "admin.service": ("GET", "/verwaltung/leistungen/{service}", DEPT_ADMIN),
    "admin.service_create": ("GET", "/verwaltung/aemter/{dept}/leistungen/neu", DEPT_ADMIN),
    "admin.service_edit": ("GET", "/verwaltung/leistungen/{service}/bearbeiten", DEPT_ADMIN),
    "admin.staff": ("GET", "/verwaltung/aemter/{dept}/mitarbeitende", DEPT_ADMIN),
    "admin.staff_add": ("POST", "/verwaltung/aemter/{dept}/mitarbeitende", DEPT_ADMIN),
    # {victim}: a membership of its own per role, so that one allowed removal does not hide the next.
    "admin.staff_remove": ("POST", "/verwaltung/aemter/{dept}/mitarbeitende/{victim}/entfernen", DEPT_ADMIN),
    "admin.staff_role": ("POST", "/verwaltung/aemter/{dept}/mitarbeitende/{victim}/rolle", DEPT_ADMIN),
    "admin_forms.designer": ("GET", FORM + "/", DEPT_ADMIN),
    "admin_forms.settings": ("GET", FORM + "/einstellungen", DEPT_ADMIN),
    "admin_forms.page_add": ("POST", FORM + "/seiten", DEPT_ADMIN),
    "admin_forms.page_edit": ("GET", FORM + "/seiten/angaben", DEPT_ADMIN),
    "admin_forms.page_action": ("POST", FORM + "/seiten/angaben/aktion", DEPT_ADMIN),
    "admin_forms.field_add": ("GET", FORM + "/seiten/angaben/felder/neu", DEPT_ADMIN),
    "admin_forms.field_edit": ("GET", FORM + "/felder/name", DEPT_ADMIN),
    "admin_forms.field_action": ("POST", FORM + "/felder/name/aktion", DEPT_ADMIN),
    "admin_forms.condition": ("GET", FORM + "/feld/name/bedingung", DEPT_ADMIN),
    "admin_release.versions": ("GET", FORM + "/versionen", DEPT_ADMIN),
    "admin_release.diff": ("GET", FORM + "/versionen/vergleich?von=entwurf", DEPT_ADMIN),
    "admin_release.export": ("GET", FORM + "/export", DEPT_ADMIN),
    "admin_release.import_form": ("GET", FORM + "/import", DEPT_ADMIN),
    "admin_release.preview": ("GET", FORM + "/vorschau", DEPT_ADMIN),
    "admin_release.preview_page": ("GET", FORM + "/vorschau/seite/angaben", DEPT_ADMIN),
    "admin_release.preview_reset": ("POST", FORM + "/vorschau/neu", DEPT_ADMIN),
    "admin_release.preview_review": ("GET", FORM + "/vorschau/pruefen", DEPT_ADMIN),
    "admin_release.publish": ("GET", FORM + "/veroeffentlichen", DEPT_ADMIN),
    "admin_release.scenarios": ("GET", FORM + "/szenarien", DEPT_ADMIN),
    "admin_release.scenario_delete": ("POST", FORM + "/szenarien/{scenario}/loeschen", DEPT_ADMIN),
    "admin_config.notices": ("GET", SERVICE + "/bescheide", DEPT_ADMIN),
    "admin_config.notice_edit": ("GET", SERVICE + "/bescheide/approval", DEPT_ADMIN),
    "admin_config.routing": ("GET", SERVICE + "/zustaendigkeit", DEPT_ADMIN),
    "admin_config.routing_test": ("POST", SERVICE + "/zustaendigkeit/test", DEPT_ADMIN),
    "admin_config.rule_new": ("GET", SERVICE + "/zustaendigkeit/regeln/neu", DEPT_ADMIN),
    "admin_config.rule_edit": ("GET", SERVICE + "/zustaendigkeit/regeln/{rule}", DEPT_ADMIN),
    "admin_config.rule_action": ("POST", SERVICE + "/zustaendigkeit/regeln/{rule}/aktion", DEPT_ADMIN),
    "admin_config.workflow": ("GET", SERVICE + "/ablauf", DEPT_ADMIN),
    "admin_config.workflow_edit": ("GET", SERVICE + "/ablauf/{workflow}", DEPT_ADMIN),
    "admin_config.workflow_publish": ("POST", SERVICE + "/ablauf/{workflow}/veroeffentlichen", DEPT_ADMIN),
    "jobs.job_list": ("GET", "/betrieb/auftraege/", PLATFORM_HIDDEN),
    "jobs.job_retry": ("POST", "/betrieb/auftraege/{job}/wiederholen", PLATFORM_HIDDEN),
}


def test_matrix_covers_every_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - MATRIX.keys())
    stale = sorted(MATRIX.keys() - endpoints)
    assert not missing, f"routes without a row in the access matrix (add them to MATRIX): {missing}"
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


@pytest.fixture
def world(db, monkeypatch):
    """Two departments, a request (waiting for the citizen, with a question and a file), a draft,
    and one user per role. Ids in paths belong to `citizen` / the `clerk`'s department."""
    monkeypatch.setattr("services.notices.request_notice", lambda *a, **k: None, raising=False)
    from services.drafts import start_draft
    from services.messages import run_clerk_transition, store_message_file
    from services.workflow import create_definition, default_document

    dept, other_dept = DepartmentFactory(), DepartmentFactory()
    service = ServiceFactory(department=dept)
    citizen = CitizenFactory()
    req = started_request(service=service, applicant=citizen)
    clerk = clerk_of(dept)
    run_clerk_transition(req, "bearbeitung_beginnen", clerk, {}, req.row_version)
    question_data = {"message": "Bitte Nachweis senden."}
    run_clerk_transition(req, "rueckfrage_stellen", clerk, question_data, req.row_version)
    question = next(m for m in req.messages if not m.from_citizen)

    class Upload:
        filename = "nachweis.pdf"
        stream = io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    attachment = store_message_file(req, Message(id=question.id), Upload(), citizen)
    attachment.message_id = None  # a file of the request itself
    other_clerk = clerk_of(other_dept)
    job = OutboxJob(kind="send_email", payload={}, state=OutboxState.FAILED)
    _db.session.add(job)
    users = {
        "citizen": citizen,
        "other_citizen": CitizenFactory(),
        "clerk": clerk,
        "clerk_other_dept": other_clerk,
        "dept_admin": clerk_of(dept, role=MembershipRole.ADMIN),
        "platform_admin": StaffFactory(is_platform_admin=True),
    }
    draft = start_draft(service, citizen)
    victims = {role: clerk_of(dept).memberships[0] for role in ROLES}
    definition = form_version_for(service).definition
    scenarios = {r: FormScenario(definition_id=definition.id, name=r, answers={}, expected={}) for r in ROLES}
    _db.session.add_all(scenarios.values())
    rule = RoutingRule(service_id=service.id, position=1, condition={"==": [1, 1]}, department_id=dept.id)
    _db.session.add(rule)
    own_workflow = create_definition("wf-matrix", "Eigener Ablauf", default_document(), department=dept)
    notice = Notice(public_id=new_public_id(), request_id=req.id, kind="approval", state=NoticeState.ISSUED,
                    verification_code="MATR-IX22-2222", file_name="matrix.pdf")
    _db.session.add(notice)
    notice_dir().joinpath("matrix.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    _db.session.commit()
    ids = {
        "req": req.public_id, "attachment": attachment.public_id, "question": question.id,
        "draft": draft.public_id, "service_slug": service.slug, "staff": other_clerk.id,
        "staff_membership": other_clerk.memberships[0].id, "job": job.id, "dept": dept.id,
        "service": service.id, "victims": {role: m.id for role, m in victims.items()},
        "scenarios": {role: sc.id for role, sc in scenarios.items()}, "rule": rule.id,
        "workflow": own_workflow.id,  # a department's own workflow (shared ones are read-only)
        "notice": notice.public_id,
        "inbox_item": _db.session.scalar(  # written by the question above
            select(InboxItem.id).where(InboxItem.user_id == citizen.id).limit(1)
        ),
    }
    return users, ids


def _client_for(app, users, role):
    # Client requests share the db fixture's app context, so Flask-Login's cached user in `g` would
    # leak from one client to the next: forget it before each role.
    g.pop("_login_user", None)
    client = app.test_client()
    if role != "anonymous":
        limiter.reset()
        resp = client.post("/anmelden", data={"email": users[role].email, "password": PASSWORD})
        assert resp.status_code in (302, 303), f"login of {role} failed"
    return client


def _check(role, expected, resp, endpoint):
    where = f"{endpoint} as {role}: got {resp.status_code}"
    to_login = resp.status_code in (302, 303) and "/anmelden" in resp.headers.get("Location", "")
    if expected == LOGIN:
        assert to_login or resp.status_code == 401, where
    elif expected == OPEN:
        assert (resp.status_code not in (401, 403) and not to_login and resp.status_code < 500) or \
            endpoint == "public.readyz", where
    elif expected == OK:
        assert resp.status_code not in (401, 403, 404) and resp.status_code < 500 and not to_login, where
    else:
        assert resp.status_code == expected, where


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_access_matrix(app, world, endpoint):
    users, ids = world
    method, template, expectations = MATRIX[endpoint]
    # Denied roles first: an allowed POST may change the world (e.g. lock an account).
    for role in sorted(ROLES, key=lambda r: expectations[r] in (OK, OPEN)):
        path = template.format(**ids, victim=ids["victims"][role], scenario=ids["scenarios"][role])
        client = _client_for(app, users, role)
        g.pop("_login_user", None)
        resp = client.open(path, method=method, data={})
        _check(role, expectations[role], resp, endpoint)
        resp.close()


@pytest.mark.parametrize("template", [
    "/sachbearbeitung/antraege/{other}", "/antraege/{other}", "/antraege/{other}/zurueckziehen",
])
def test_unknown_ids_are_404_like_foreign_ones(app, world, template):
    users, _ids = world
    role = "clerk" if template.startswith("/sachbearbeitung") else "citizen"
    client = _client_for(app, users, role)
    assert client.get(template.format(other="0" * 32)).status_code == 404
