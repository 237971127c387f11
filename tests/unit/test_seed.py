"""Demo seed: a realistic Stadt Duisburg, one account per role, idempotent, printed logins."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import NoResultFound

from extensions import db as _db
from models import Department, Membership, MembershipRole, Service, User, UserKind
from services.passwords import hash_password, verify_password
from services.seed import seed_demo
from services.seed.users import DEMO_USERS

CALLS = []
ROOT = Path(__file__).resolve().parents[2]


def _count(model):
    return _db.session.scalar(_db.select(_db.func.count()).select_from(model))


def _service(slug):
    return _db.session.execute(_db.select(Service).filter_by(slug=slug)).scalar_one()


def _user(email_prefix):
    return _db.session.execute(_db.select(User).where(User.email.startswith(email_prefix))).scalar_one()


def test_seed_creates_the_demo_city(db):
    report = seed_demo()
    slugs = set(_db.session.scalars(_db.select(Department.slug)))
    assert {
        "strassenverkehrsamt",
        "ordnungsamt",
        "steueramt",
        "buergeramt",
        "bezirksamt-nord",
        "bezirksamt-sued",
    } <= slugs
    for dept in _db.session.scalars(_db.select(Department)):
        assert "Duisburg" in dept.address and dept.email and dept.phone.startswith("0203")
    expected = {
        "bewohnerparkausweis": ("strassenverkehrsamt", 3070),
        "hundesteuer-anmeldung": ("steueramt", 0),
        "gewerbeanmeldung": ("ordnungsamt", 2600),
        "sondernutzungserlaubnis": ("strassenverkehrsamt", None),
        "meldebescheinigung": ("buergeramt", 1000),
    }
    for slug, (dept_slug, fee) in expected.items():
        svc = _service(slug)
        assert svc.department.slug == dept_slug and svc.active
        assert fee is None or svc.fee_cents == fee
        for lang in ("de", "en"):
            for field in ("title", "summary", "description", "audience"):
                assert getattr(svc, f"{field}_{lang}"), (slug, field, lang)
            assert len(svc.requirements(lang)) >= 2
        assert svc.title_de != svc.title_en and svc.processing_days > 0
        assert svc.leika_key is None or re.fullmatch(r"\d{14}", svc.leika_key)
    assert _service("gewerbeanmeldung").leika_key == "99050012104000"
    mine = {k: report.counts[k]["created"] for k in ("departments", "services", "users", "memberships")}
    assert mine == {"departments": 6, "services": 5, "users": 5, "memberships": _count(Membership)}


def test_seed_twice_changes_nothing_and_duplicates_nothing(db):
    seed_demo()
    counts = [_count(m) for m in (Department, Service, User, Membership)]
    report = seed_demo()
    assert report.changed == 0
    assert [_count(m) for m in (Department, Service, User, Membership)] == counts
    assert all(c["unchanged"] > 0 for c in report.counts.values())


def test_seed_restores_drifted_demo_data(db):
    seed_demo()
    svc = _service("bewohnerparkausweis")
    svc.title_de, svc.fee_cents = "Geändert", 1
    clerk = _user("sachbearbeitung@")
    old_version = clerk.session_version
    clerk.password_hash = hash_password("ein anderes passwort")
    _db.session.flush()

    report = seed_demo()
    assert report.counts["services"]["updated"] == 1
    assert report.counts["users"]["updated"] == 1
    assert _service("bewohnerparkausweis").title_de == "Bewohnerparkausweis"
    assert _service("bewohnerparkausweis").fee_cents == 3070
    assert verify_password(clerk.password_hash, "Demo-Sachbearbeitung-2026")
    assert clerk.session_version == old_version + 1  # sessions under the foreign password end


def test_seed_has_one_demo_user_per_role(db):
    report = seed_demo()
    citizen = _user("buergerin@")
    assert citizen.kind == UserKind.CITIZEN and citizen.email_confirmed and not citizen.memberships

    clerk, second = _user("sachbearbeitung@"), _user("zweitpruefung@")
    names = {m.department.slug for m in clerk.memberships}
    # Requests routed by postcode to the district offices must reach a demo clerk too.
    assert names == {"strassenverkehrsamt", "buergeramt", "bezirksamt-nord", "bezirksamt-sued"}
    assert all(m.role == MembershipRole.CLERK for m in clerk.memberships + second.memberships)
    # Four-eyes needs a second clerk in the same departments.
    assert names <= {m.department.slug for m in second.memberships}

    admin = _user("amtsleitung@")
    assert [(m.department.slug, m.role) for m in admin.memberships] == [("strassenverkehrsamt", "admin")]
    assert not admin.is_platform_admin

    platform = _user("plattform@")
    assert platform.is_platform_admin and platform.is_staff

    for spec in DEMO_USERS:
        user = _user(spec.email)
        assert verify_password(user.password_hash, spec.password) and "(Demo)" in user.full_name
        assert user.email.endswith(".example")  # reserved domain: demo mail reaches nobody
    assert [login.email for login in report.logins] == [u.email for u in DEMO_USERS]


def _record_step(report):
    CALLS.append("custom")
    report.record("custom", "created")


def test_seed_runs_steps_in_order_and_accepts_appended_steps(db):
    CALLS.clear()
    report = seed_demo(steps=["services.seed.catalog:seed_catalog", "tests.unit.test_seed:_record_step"])
    assert CALLS == ["custom"]
    assert report.counts["custom"]["created"] == 1 and _count(Service) == 5 and _count(User) == 0


def test_seed_step_order_users_need_departments(db):
    with pytest.raises(NoResultFound):
        seed_demo(steps=["services.seed.users:seed_users"])


def test_cli_seed_demo_prints_logins_and_url_and_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    for spec in DEMO_USERS:
        assert spec.email in first.output and spec.password in first.output and spec.role in first.output
    assert f"{app.config['BASE_URL']}/" in first.output
    second = runner.invoke(args=["seed", "demo"])
    assert second.exit_code == 0 and "nothing changed" in second.output
    _db.session.expire_all()
    assert _count(Department) == 6 and _count(User) == len(DEMO_USERS)


def test_cli_seed_demo_if_empty_skips_filled_database(app, db):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed", "demo"])
    result = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert result.exit_code == 0 and "skipped" in result.output
    assert DEMO_USERS[0].password in result.output


def test_cli_seed_demo_refuses_production(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code != 0 and "production" in result.output
    assert _count(Department) == 0


@pytest.fixture
def shell_db(app):
    """The test database for a command run in a child process; tables emptied afterwards."""
    yield app
    from tests.conftest import _empty_tables

    with app.app_context():
        _db.session.remove()
        _empty_tables()


@pytest.mark.slow
def test_flask_seed_demo_in_a_shell(shell_db):
    """The real `flask seed demo` (as `make run` calls it): no request context, all seed steps."""
    cfg = shell_db.config
    env = {
        **os.environ,
        "FLASK_APP": "app:create_app",
        "AMTSWEG_INSTANCE": cfg["INSTANCE_PATH"],
        "DATABASE_URL": cfg["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": cfg["SECRET_KEY"],
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
    }
    run = subprocess.run(
        [sys.executable, "-m", "flask", "seed", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert DEMO_USERS[0].email in run.stdout and "Open http" in run.stdout
    with shell_db.app_context():
        assert _count(Department) == 6
