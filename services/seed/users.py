"""Demo accounts: one per role, with known passwords. DEMO ONLY — `flask seed demo` refuses production."""

from dataclasses import dataclass, field

from extensions import db
from models import Department, Membership, MembershipRole, User, UserKind
from models.base import utcnow
from services.passwords import hash_password, verify_password
from services.seed import CREATED, UNCHANGED, UPDATED, DemoLogin, SeedReport, upsert

# A reserved domain (RFC 2606): demo mail can never reach a real person.
DEMO_DOMAIN = "demo.amtsweg.example"


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    full_name: str
    role: str  # printed next to the login
    kind: str = UserKind.STAFF
    platform_admin: bool = False
    memberships: tuple[tuple[str, str], ...] = field(default=())  # (department slug, role)


CLERK, ADMIN = MembershipRole.CLERK, MembershipRole.ADMIN

DEMO_USERS = [
    DemoUser(
        f"buergerin@{DEMO_DOMAIN}",
        "Demo-Buergerin-2026",
        "Erika Mustermann (Demo)",
        "Bürgerin (E-Mail bestätigt)",
        kind=UserKind.CITIZEN,
    ),
    DemoUser(
        f"sachbearbeitung@{DEMO_DOMAIN}",
        "Demo-Sachbearbeitung-2026",
        "Sam Sachbearbeiter (Demo)",
        "Sachbearbeitung (Straßenverkehrsamt, Bürgeramt, Bezirksämter Nord und Süd)",
        memberships=(
            ("strassenverkehrsamt", CLERK),
            ("buergeramt", CLERK),
            ("bezirksamt-nord", CLERK),
            ("bezirksamt-sued", CLERK),
        ),
    ),
    DemoUser(
        f"zweitpruefung@{DEMO_DOMAIN}",
        "Demo-Zweitpruefung-2026",
        "Zoe Zweitprüferin (Demo)",
        "Sachbearbeitung, Vier-Augen-Prinzip (alle Ämter der Demo-Stadt)",
        memberships=(
            ("strassenverkehrsamt", CLERK),
            ("buergeramt", CLERK),
            ("ordnungsamt", CLERK),
            ("steueramt", CLERK),
            ("bezirksamt-nord", CLERK),
            ("bezirksamt-sued", CLERK),
        ),
    ),
    DemoUser(
        f"amtsleitung@{DEMO_DOMAIN}",
        "Demo-Amtsleitung-2026",
        "Anna Amtsleitung (Demo)",
        "Fachadministration (Straßenverkehrsamt)",
        memberships=(("strassenverkehrsamt", ADMIN),),
    ),
    DemoUser(
        f"plattform@{DEMO_DOMAIN}",
        "Demo-Plattform-2026",
        "Paul Plattform (Demo)",
        "Plattform-Administration",
        platform_admin=True,
    ),
]


def seed_users(report: SeedReport) -> None:
    """Upsert the demo accounts and their department memberships; report their logins."""
    for spec in DEMO_USERS:
        user = _upsert_user(spec, report)
        for dept_slug, role in spec.memberships:
            dept = db.session.execute(db.select(Department).filter_by(slug=dept_slug)).scalar_one()
            key = {"user_id": user.id, "department_id": dept.id}
            upsert(Membership, key, {"role": str(role)}, report, "memberships")
        report.logins.append(DemoLogin(spec.email, spec.password, spec.role))


def _upsert_user(spec: DemoUser, report: SeedReport) -> User:
    values = {
        "full_name": spec.full_name,
        "kind": str(spec.kind),
        "is_platform_admin": spec.platform_admin,
        "is_active_account": True,
    }
    user = db.session.execute(db.select(User).filter_by(email=spec.email)).scalar_one_or_none()
    if user is None:
        user = User(
            email=spec.email,
            password_hash=hash_password(spec.password),
            email_confirmed_at=utcnow(),
            locale="de",
            **values,
        )
        db.session.add(user)
        db.session.flush()
        report.record("users", CREATED)
        return user
    changed = {k: v for k, v in values.items() if getattr(user, k) != v}
    for name, value in changed.items():
        setattr(user, name, value)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        changed["email_confirmed_at"] = True
    if not verify_password(user.password_hash, spec.password):
        # Someone changed the demo password: restore the printed one and end their sessions.
        user.password_hash = hash_password(spec.password)
        user.session_version += 1
        changed["password_hash"] = True
    db.session.flush()
    report.record("users", UPDATED if changed else UNCHANGED)
    return user
