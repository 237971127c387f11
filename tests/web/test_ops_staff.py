"""Staff management: /betrieb (platform admins only) and `flask staff create`."""

import pytest

from extensions import db as _db
from extensions import limiter
from models import ConfigChange, Membership, MembershipRole, User
from services.passwords import verify_password
from tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    MembershipFactory,
    StaffFactory,
    clerk_of,
)
from tests.support import IsolatedClient, Mailbox, link_path

NEW_PASSWORD = "ein sicheres dienstpasswort"


@pytest.fixture
def client(app, db, monkeypatch):
    """One app context per request (see tests.support)."""
    limiter.reset()
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
    return app.test_client()


@pytest.fixture
def mailbox(app, db):
    return Mailbox(app)


@pytest.fixture
def platform_admin(db):
    admin = StaffFactory(is_platform_admin=True, email="ops@stadt-duisburg.example")
    db.session.commit()
    return admin


def _user(email):
    _db.session.expire_all()
    return _db.session.scalar(_db.select(User).where(User.email == email))


@pytest.mark.parametrize(
    "who", ["anonymous", "citizen", "clerk", "department_admin", "inactive_platform_admin"]
)
@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/betrieb/"),
        ("get", "/betrieb/mitarbeitende"),
        ("get", "/betrieb/aemter"),
        ("post", "/betrieb/mitarbeitende/neu"),
        ("get", "/betrieb/mitarbeitende/{staff}"),
    ],
)
def test_ops_pages_hidden_from_everyone_but_platform_admins(client, login_as, who, method, path):
    dept = DepartmentFactory()
    staff = clerk_of(dept)
    users = {
        "citizen": CitizenFactory(),
        "clerk": clerk_of(dept),
        "department_admin": clerk_of(dept, MembershipRole.ADMIN),
        "inactive_platform_admin": StaffFactory(is_platform_admin=True),
    }
    _db.session.commit()
    if who != "anonymous":
        login_as(users[who])
    if who == "inactive_platform_admin":
        users[who].is_active_account = False
        _db.session.commit()
    resp = getattr(client, method)(path.format(staff=staff.id))
    if who in ("anonymous", "inactive_platform_admin"):  # a locked account's session is dead
        assert resp.status_code == 302 and "/anmelden" in resp.headers["Location"]
    else:
        assert resp.status_code == 404


def test_platform_admin_sees_ops_pages(client, login_as, platform_admin):
    dept = DepartmentFactory(name_de="Bürgeramt")
    clerk = clerk_of(dept)
    _db.session.commit()
    login_as(platform_admin)
    assert "Mitarbeitende" in client.get("/betrieb/").get_data(as_text=True)
    page = client.get("/betrieb/mitarbeitende").get_data(as_text=True)
    assert clerk.email in page and platform_admin.email in page
    assert "Bürgeramt" in client.get("/betrieb/aemter").get_data(as_text=True)
    assert client.get(f"/betrieb/mitarbeitende?q={clerk.email[:6]}").get_data(as_text=True).count("@") >= 1
    citizen = CitizenFactory()
    _db.session.commit()
    assert client.get(f"/betrieb/mitarbeitende/{citizen.id}").status_code == 404  # staff only


def test_create_staff_in_ui_sends_invitation_and_invite_sets_password(
    client, login_as, platform_admin, mailbox
):
    dept = DepartmentFactory(name_de="Ordnungsamt")
    _db.session.commit()
    login_as(platform_admin)
    resp = client.post(
        "/betrieb/mitarbeitende/neu",
        data={
            "full_name": "Max Amt",
            "email": "Max.Amt@Stadt-Duisburg.example",
            "role": "clerk",
            "department": str(dept.id),
        },
    )
    assert resp.status_code == 303
    user = _user("max.amt@stadt-duisburg.example")
    assert user.is_staff and not user.is_platform_admin and not user.email_confirmed
    assert [(m.department_id, m.role) for m in user.memberships] == [(dept.id, "clerk")]
    assert _db.session.scalar(_db.select(ConfigChange).where(ConfigChange.action == "staff_created"))

    path = link_path(mailbox.last(user.email), "/einladung/")
    client.post("/abmelden")
    resp = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert resp.status_code == 303
    user = _user(user.email)
    assert verify_password(user.password_hash, NEW_PASSWORD) and user.email_confirmed
    assert client.get(path).status_code == 400  # used up
    assert client.post("/anmelden", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 303


def test_create_staff_validation(client, login_as, platform_admin):
    login_as(platform_admin)
    resp = client.post(
        "/betrieb/mitarbeitende/neu", data={"full_name": "", "email": "kaputt", "role": "clerk"}
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Fehler:" in page and "Bitte wählen Sie ein Amt." in page
    assert "gültige E-Mail-Adresse" in page
    resp = client.post(
        "/betrieb/mitarbeitende/neu",
        data={"full_name": "Doppelt", "email": platform_admin.email, "role": "platform-admin"},
    )
    assert resp.status_code == 400 and "bereits ein Konto" in resp.get_data(as_text=True)
    resp = client.post(
        "/betrieb/mitarbeitende/neu", data={"full_name": "X", "email": "x@example.org", "role": "chef"}
    )
    assert resp.status_code == 400 and "Bitte wählen Sie eine Rolle." in resp.get_data(as_text=True)
    assert _user("x@example.org") is None


def test_create_platform_admin_without_department(client, login_as, platform_admin):
    login_as(platform_admin)
    data = {
        "full_name": "Zweite Admin",
        "email": "admin2@example.org",
        "role": "platform-admin",
        "department": "",
    }
    assert client.post("/betrieb/mitarbeitende/neu", data=data).status_code == 303
    user = _user("admin2@example.org")
    assert user.is_platform_admin and user.memberships == []


def test_add_change_and_remove_membership(client, login_as, platform_admin):
    a, b = DepartmentFactory(), DepartmentFactory()
    clerk = clerk_of(a)
    _db.session.commit()
    login_as(platform_admin)
    url = f"/betrieb/mitarbeitende/{clerk.id}/mitgliedschaften"
    assert client.post(url, data={"department": str(b.id), "role": "admin"}).status_code == 303
    assert client.post(url, data={"department": str(a.id), "role": "admin"}).status_code == 303
    roles = {m.department_id: m.role for m in _user(clerk.email).memberships}
    assert roles == {a.id: "admin", b.id: "admin"}
    bad = client.post(url, data={"department": "999999", "role": "clerk"})
    assert bad.status_code == 400 and "aus der Liste" in bad.get_data(as_text=True)
    membership = next(m for m in _user(clerk.email).memberships if m.department_id == b.id)
    resp = client.post(f"/betrieb/mitarbeitende/{clerk.id}/mitgliedschaften/{membership.id}/entfernen")
    assert resp.status_code == 303
    assert {m.department_id for m in _user(clerk.email).memberships} == {a.id}
    other = MembershipFactory()
    _db.session.commit()
    resp = client.post(f"/betrieb/mitarbeitende/{clerk.id}/mitgliedschaften/{other.id}/entfernen")
    assert resp.status_code == 404  # not this user's membership


def test_deactivate_ends_sessions_and_blocks_login(app, client, login_as, platform_admin):
    clerk = clerk_of(DepartmentFactory())
    _db.session.commit()
    clerk_client = app.test_client()
    assert clerk_client.post(
        "/anmelden", data={"email": clerk.email, "password": "correct horse battery staple"}
    )
    assert clerk_client.get("/konto").status_code == 200
    login_as(platform_admin)
    assert client.post(f"/betrieb/mitarbeitende/{clerk.id}/sperren").status_code == 303
    assert clerk_client.get("/konto").status_code == 302
    resp = clerk_client.post(
        "/anmelden", data={"email": clerk.email, "password": "correct horse battery staple"}
    )
    assert resp.status_code == 200
    assert client.post(f"/betrieb/mitarbeitende/{clerk.id}/entsperren").status_code == 303
    assert _user(clerk.email).is_active_account
    # an admin cannot lock themselves out
    client.post(f"/betrieb/mitarbeitende/{platform_admin.id}/sperren")
    assert _user(platform_admin.email).is_active_account


def _cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["staff", *args], input=input)


def test_cli_creates_clerk_with_prompted_password(app, db):
    dept = DepartmentFactory(slug="buergeramt")
    db.session.commit()
    result = _cli(
        app,
        "create",
        "--email",
        "clerk@example.org",
        "--name",
        "Carla Clerk",
        "--role",
        "clerk",
        "--department",
        "buergeramt",
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    user = _user("clerk@example.org")
    assert user.is_staff and user.email_confirmed and verify_password(user.password_hash, NEW_PASSWORD)
    assert [(m.department_id, m.role) for m in user.memberships] == [(dept.id, "clerk")]
    assert "clerk@example.org" in _cli(app, "list").output


def test_cli_creates_platform_admin_with_generated_password(app, db):
    result = _cli(
        app,
        "create",
        "--email",
        "root@example.org",
        "--name",
        "Root",
        "--role",
        "platform-admin",
        "--generate-password",
    )
    assert result.exit_code == 0, result.output
    password = result.output.split("Password (shown once): ")[1].strip()
    user = _user("root@example.org")
    assert user.is_platform_admin and verify_password(user.password_hash, password)
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Membership)) == 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--role", "clerk"], "Bitte wählen Sie ein Amt."),
        (["--role", "clerk", "--department", "gibt-es-nicht"], "no department"),
        (["--role", "boss"], "Invalid value for '--role'"),
    ],
)
def test_cli_rejects_bad_input(app, db, args, message):
    result = _cli(app, "create", "--email", "x@example.org", "--name", "X", "--generate-password", *args)
    assert result.exit_code != 0 and message in result.output
    assert _user("x@example.org") is None


def test_cli_rejects_short_password_and_duplicate(app, db):
    result = _cli(
        app,
        "create",
        "--email",
        "y@example.org",
        "--name",
        "Y",
        "--role",
        "platform-admin",
        input="kurz\nkurz\n",
    )
    assert result.exit_code != 0 and "mindestens 12 Zeichen" in result.output
    StaffFactory(email="z@example.org")
    db.session.commit()
    result = _cli(
        app,
        "create",
        "--email",
        "z@example.org",
        "--name",
        "Z",
        "--role",
        "platform-admin",
        "--generate-password",
    )
    assert result.exit_code != 0 and "bereits ein Konto" in result.output
