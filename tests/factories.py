"""factory_boy factories for the core models."""

import factory
from factory.alchemy import SQLAlchemyModelFactory

from extensions import db
from models import Department, Membership, MembershipRole, Service, User, UserKind
from models.base import utcnow
from services.passwords import hash_password

PASSWORD = "correct horse battery staple"


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class DepartmentFactory(_Base):
    class Meta:
        model = Department

    slug = factory.Sequence(lambda n: f"amt-{n}")
    name_de = factory.Sequence(lambda n: f"Amt {n}")
    name_en = factory.Sequence(lambda n: f"Office {n}")
    email = factory.LazyAttribute(lambda o: f"{o.slug}@stadt-duisburg.invalid")


class ServiceFactory(_Base):
    class Meta:
        model = Service

    slug = factory.Sequence(lambda n: f"leistung-{n}")
    title_de = factory.Sequence(lambda n: f"Leistung {n}")
    title_en = factory.Sequence(lambda n: f"Service {n}")
    summary_de = "Kurzbeschreibung"
    summary_en = "Summary"
    department = factory.SubFactory(DepartmentFactory)
    fee_cents = 3000
    processing_days = 14
    topic = "mobilitaet"


class UserFactory(_Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Erika Mustermann {n}")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    kind = UserKind.CITIZEN
    email_confirmed_at = factory.LazyFunction(utcnow)


class CitizenFactory(UserFactory):
    pass


class StaffFactory(UserFactory):
    kind = UserKind.STAFF
    email = factory.Sequence(lambda n: f"staff{n}@stadt-duisburg.invalid")


class MembershipFactory(_Base):
    class Meta:
        model = Membership

    user = factory.SubFactory(StaffFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = MembershipRole.CLERK


def clerk_of(department, role=MembershipRole.CLERK) -> User:
    """A staff user with a membership in `department`."""
    return MembershipFactory(department=department, role=role).user
