"""services.accounts and services.tokens without HTTP."""

import time

import itsdangerous
import pytest
from sqlalchemy import select

from models import ConfigChange, MembershipRole, OutboxJob, User
from services import accounts, tokens
from services.errors import EmailNotConfirmed, InvalidToken, PermissionDenied, ValidationFailed
from services.passwords import verify_password
from tests.factories import PASSWORD, CitizenFactory, DepartmentFactory, StaffFactory, clerk_of

NEW = "noch ein langes passwort"


def _mail_templates(db):
    return [j.payload["template"] for j in db.session.scalars(db.select(OutboxJob).order_by(OutboxJob.id))]


def test_register_citizen_creates_unconfirmed_user_and_queues_confirmation(db):
    user = accounts.register_citizen(" Neu@Example.ORG ", "lang genug 123", "  Erika  ", locale="en")
    assert user.email == "neu@example.org" and user.full_name == "Erika" and user.locale == "en"
    assert user.is_citizen and not user.email_confirmed and user.password_hash.startswith("$argon2id$")
    assert _mail_templates(db) == ["auth_confirm"]


def test_register_citizen_existing_address_creates_nothing(db):
    CitizenFactory(email="da@example.org")
    assert accounts.register_citizen("DA@example.org", "lang genug 123") is None
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1
    assert _mail_templates(db) == ["auth_already_registered"]


@pytest.mark.parametrize("password", ["", "elf zeichen", "x" * 257])
def test_register_citizen_rejects_bad_password_length(db, password):
    with pytest.raises(ValidationFailed) as exc:
        accounts.register_citizen("a@example.org", password)
    assert exc.value.details["field"] == "password"


@pytest.mark.parametrize(("asked", "stored"), [("en", "en"), ("de", "de"), ("fr", "de"), ("", "de")])
def test_register_citizen_keeps_only_an_offered_language(db, asked, stored):
    user = accounts.register_citizen(f"{asked or 'leer'}@example.org", "lang genug 123", locale=asked)
    assert user.locale == stored


def test_set_mail_locale_stores_an_offered_language_and_says_whether_it_changed(db):
    user = CitizenFactory(locale="de")
    assert accounts.set_mail_locale(user, "en") is True
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"
    assert accounts.set_mail_locale(user, "en") is False
    assert _mail_templates(db) == []  # a setting, not an event anyone is told about


@pytest.mark.parametrize("asked", ["fr", "", "EN", "en_GB", " en", None])
def test_set_mail_locale_refuses_what_is_not_offered(db, asked):
    user = StaffFactory(locale="de")
    with pytest.raises(ValidationFailed) as exc:
        accounts.set_mail_locale(user, asked)
    assert exc.value.details["field"] == "language" and user.locale == "de"


def test_set_mail_locale_checks_the_configured_languages(app, db, monkeypatch):
    user = CitizenFactory(locale="de")
    monkeypatch.setitem(app.config, "LANGUAGES", ("de", "en", "tr"))
    accounts.set_mail_locale(user, "tr")
    monkeypatch.setitem(app.config, "LANGUAGES", ("de",))
    with pytest.raises(ValidationFailed):
        accounts.set_mail_locale(user, "en")
    assert user.locale == "tr"


def test_authenticate(db, app, monkeypatch):
    user = CitizenFactory(email="a@example.org")
    assert accounts.authenticate("A@example.org ", PASSWORD) is user and user.last_login_at is not None
    assert accounts.authenticate("a@example.org", "falsch") is None
    assert accounts.authenticate("b@example.org", PASSWORD) is None
    user.is_active_account = False
    assert accounts.authenticate("a@example.org", PASSWORD) is None


def test_authenticate_unknown_user_still_verifies_a_hash(db, monkeypatch):
    calls = []
    monkeypatch.setattr(accounts, "dummy_verify", lambda pw: calls.append(pw))
    accounts.authenticate("niemand@example.org", "geheim")
    assert calls == ["geheim"]


def test_require_confirmed(db):
    accounts.require_confirmed(CitizenFactory())
    with pytest.raises(EmailNotConfirmed):
        accounts.require_confirmed(CitizenFactory(email_confirmed_at=None))


def test_change_password_bumps_session_version(db):
    user = CitizenFactory()
    version = user.session_version
    with pytest.raises(ValidationFailed):
        accounts.change_password(user, "falsch", NEW)
    accounts.change_password(user, PASSWORD, NEW)
    assert verify_password(user.password_hash, NEW) and user.session_version == version + 1
    assert _mail_templates(db) == ["auth_password_changed"]


def test_request_password_reset_only_for_active_accounts(db):
    CitizenFactory(email="a@example.org")
    CitizenFactory(email="b@example.org", is_active_account=False)
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        accounts.request_password_reset(address)
    assert _mail_templates(db) == ["auth_reset"]


def test_confirm_token_single_use(db):
    user = CitizenFactory(email_confirmed_at=None)
    token = tokens.make_token("confirm", user)
    assert tokens.load_token("confirm", token) is user
    accounts.confirm_email(user)
    with pytest.raises(InvalidToken):
        tokens.load_token("confirm", token)


def test_reset_token_dies_after_use_and_is_bound_to_purpose(db):
    user = CitizenFactory()
    token = tokens.make_token("reset", user)
    with pytest.raises(InvalidToken):
        tokens.load_token("confirm", token)  # other salt
    with pytest.raises(InvalidToken):
        tokens.load_token("invite", token)
    accounts.reset_password(tokens.load_token("reset", token), NEW)
    with pytest.raises(InvalidToken):
        tokens.load_token("reset", token)


def test_reset_token_dies_on_logout_everywhere(db):
    user = CitizenFactory()
    token = tokens.make_token("reset", user)
    accounts.end_sessions(user)
    with pytest.raises(InvalidToken):
        tokens.load_token("reset", token)


@pytest.mark.parametrize("purpose,age", [("reset", 3600), ("confirm", 48 * 3600), ("invite", 7 * 86400)])
def test_tokens_expire(db, monkeypatch, purpose, age):
    user = CitizenFactory(email_confirmed_at=None)
    now = int(time.time())
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now - age + 60)
    fresh = tokens.make_token(purpose, user)
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now - age - 1)
    stale = tokens.make_token(purpose, user)
    monkeypatch.undo()
    assert tokens.load_token(purpose, fresh) is user
    with pytest.raises(InvalidToken):
        tokens.load_token(purpose, stale)


def test_token_lifetime_from_config(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_MAX_AGE_RESET", 10)
    user = CitizenFactory()
    now = int(time.time())
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now - 11)
    token = tokens.make_token("reset", user)
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "TOKEN_MAX_AGE_RESET", 10)
    with pytest.raises(InvalidToken):
        tokens.load_token("reset", token)


def test_tokens_for_deactivated_users_are_invalid(db):
    user = CitizenFactory(email_confirmed_at=None)
    token = tokens.make_token("confirm", user)
    user.is_active_account = False
    with pytest.raises(InvalidToken):
        tokens.load_token("confirm", token)


@pytest.mark.parametrize("garbage", ["", "abc", "eyJ1IjoxfQ.AAAA.BBBB"])
def test_garbage_tokens(db, garbage):
    with pytest.raises(InvalidToken):
        tokens.load_token("reset", garbage)


def test_create_staff_user_roles(db):
    dept = DepartmentFactory()
    admin = StaffFactory(is_platform_admin=True)
    clerk = accounts.create_staff_user(admin, "c@example.org", "C", "clerk", dept)
    dept_admin = accounts.create_staff_user(None, "d@example.org", "D", "admin", dept, password=NEW)
    root = accounts.create_staff_user(admin, "r@example.org", "R", "platform-admin")
    assert [(m.department, m.role) for m in clerk.memberships] == [(dept, MembershipRole.CLERK)]
    assert [m.role for m in dept_admin.memberships] == [MembershipRole.ADMIN] and dept_admin.email_confirmed
    assert root.is_platform_admin and root.memberships == [] and not root.email_confirmed
    assert _mail_templates(db) == ["auth_invite", "auth_invite"]  # the CLI-style account has a password
    actions = db.session.scalars(db.select(ConfigChange.action)).all()
    assert actions == ["staff_created"] * 3


def test_create_staff_user_needs_a_platform_admin(db):
    dept = DepartmentFactory()
    for actor in (CitizenFactory(), clerk_of(dept), clerk_of(dept, MembershipRole.ADMIN)):
        with pytest.raises(PermissionDenied):
            accounts.create_staff_user(actor, "x@example.org", "X", "clerk", dept)


def test_invited_staff_cannot_log_in_before_setting_a_password(db):
    user = accounts.create_staff_user(None, "i@example.org", "I", "platform-admin")
    assert accounts.authenticate("i@example.org", "") is None
    accounts.accept_invitation(tokens.load_token("invite", tokens.make_token("invite", user)), NEW)
    assert accounts.authenticate("i@example.org", NEW) is user


def test_department_admin_manages_memberships_of_own_department_only(db):
    own, other = DepartmentFactory(), DepartmentFactory()
    dept_admin = clerk_of(own, MembershipRole.ADMIN)
    staff = StaffFactory()
    membership = accounts.add_membership(dept_admin, staff, own, "clerk")
    with pytest.raises(PermissionDenied):
        accounts.add_membership(dept_admin, staff, other, "clerk")
    with pytest.raises(PermissionDenied):
        accounts.add_membership(clerk_of(own), staff, own, "admin")
    with pytest.raises(ValidationFailed):
        accounts.add_membership(dept_admin, CitizenFactory(), own, "clerk")
    accounts.remove_membership(dept_admin, membership)
    assert staff.memberships == []


def test_department_keeps_at_least_one_active_admin(db):
    dept = DepartmentFactory()
    dept_admin = clerk_of(dept, MembershipRole.ADMIN)
    [own] = dept_admin.memberships
    for attempt in (lambda: accounts.add_membership(dept_admin, dept_admin, dept, "clerk"),
                    lambda: accounts.remove_membership(dept_admin, own)):  # fmt: skip
        with pytest.raises(ValidationFailed) as exc:
            attempt()
        assert "mindestens eine Person" in exc.value.message
    assert dept_admin.memberships == [own] and own.role == MembershipRole.ADMIN
    deactivated = clerk_of(dept, MembershipRole.ADMIN)
    deactivated.is_active_account = False
    with pytest.raises(ValidationFailed):
        accounts.remove_membership(dept_admin, own)  # a locked account is no admin to rely on
    clerk_of(dept, MembershipRole.ADMIN)
    accounts.add_membership(dept_admin, dept_admin, dept, "clerk")  # another admin remains: allowed
    assert own.role == MembershipRole.CLERK


def test_platform_admin_may_remove_the_last_department_admin(db):
    dept = DepartmentFactory()
    [membership] = clerk_of(dept, MembershipRole.ADMIN).memberships
    accounts.add_membership(StaffFactory(is_platform_admin=True), membership.user, dept, "clerk")
    assert membership.role == MembershipRole.CLERK


def test_deactivate_user(db):
    admin = StaffFactory(is_platform_admin=True)
    clerk = StaffFactory()
    version = clerk.session_version
    with pytest.raises(ValidationFailed):
        accounts.deactivate_user(admin, admin)
    with pytest.raises(PermissionDenied):
        accounts.deactivate_user(clerk, admin)
    accounts.deactivate_user(admin, clerk)
    assert not clerk.is_active_account and clerk.session_version == version + 1
    accounts.reactivate_user(admin, clerk)
    assert clerk.is_active_account


def test_last_two_admins_stepping_down_at_once_leave_one_on_postgres(postgres, db):
    """The second step-down waits for the first (row locks) and is then refused."""
    import threading

    from extensions import db as _db
    from models import Membership
    from services.tx import transaction

    dept = DepartmentFactory()
    first, second = clerk_of(dept, MembershipRole.ADMIN), clerk_of(dept, MembershipRole.ADMIN)
    _db.session.commit()
    ids = {first.id: first.memberships[0].id, second.id: second.memberships[0].id}
    first_holds_locks, outcome = threading.Event(), {}

    def step_down(user_id, hold_until=None):
        with postgres.app_context():
            try:
                with transaction():
                    user = _db.session.get(User, user_id)
                    department = _db.session.get(Membership, ids[user_id]).department
                    accounts.add_membership(user, user, department, "clerk")
                    if hold_until is not None:
                        first_holds_locks.set()
                        time.sleep(hold_until)  # the other step-down starts now and must wait
                outcome[user_id] = "done"
            except ValidationFailed:
                outcome[user_id] = "refused"
            finally:
                first_holds_locks.set()
                _db.session.remove()

    one = threading.Thread(target=step_down, args=(first.id, 0.5))
    one.start()
    first_holds_locks.wait(10)
    two = threading.Thread(target=step_down, args=(second.id,))
    two.start()
    one.join(10)
    two.join(10)
    assert outcome == {first.id: "done", second.id: "refused"}
    _db.session.expire_all()
    rows = _db.session.scalars(select(Membership).where(Membership.department_id == dept.id))
    roles = {m.role for m in rows}
    assert roles == {MembershipRole.ADMIN, MembershipRole.CLERK}
