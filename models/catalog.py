"""The service catalog: departments and the services (Leistungen) they offer."""

from sqlalchemy import ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow


class Department(db.Model):
    """An office of the city."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name_de: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(Text, default="")  # postal address, one line per row
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    memberships = relationship("Membership", back_populates="department", cascade="all, delete-orphan")
    services: Mapped[list["Service"]] = relationship(back_populates="department")

    def name(self, locale: str = "de") -> str:
        return self.name_en if locale == "en" and self.name_en else self.name_de


class Service(db.Model):
    """Something a citizen can apply for."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title_de: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    summary_de: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    description_de: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    audience_de: Mapped[str] = mapped_column(Text, default="")  # who can apply
    audience_en: Mapped[str] = mapped_column(Text, default="")
    requirements_de: Mapped[str] = mapped_column(Text, default="")  # what you need, one per line
    requirements_en: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str] = mapped_column(String(40), default="allgemein")
    leika_key: Mapped[str | None] = mapped_column(String(14), nullable=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    fee_cents: Mapped[int] = mapped_column(default=0)
    fee_note_de: Mapped[str] = mapped_column(Text, default="")
    fee_note_en: Mapped[str] = mapped_column(Text, default="")
    processing_days: Mapped[int] = mapped_column(default=14)
    # Aufbewahrungsfrist: whole years after a request was closed before `flask retention purge`
    # deletes it (services/retention.py; docs/privacy.md "Aufbewahrung und Löschung").
    retention_years: Mapped[int] = mapped_column(default=10, server_default=text("10"))
    login_required: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(back_populates="services")

    def _pick(self, field: str, locale: str) -> str:
        value = getattr(self, f"{field}_{'en' if locale == 'en' else 'de'}")
        return value or getattr(self, f"{field}_de")

    def title(self, locale="de"):
        return self._pick("title", locale)

    def summary(self, locale="de"):
        return self._pick("summary", locale)

    def description(self, locale="de"):
        return self._pick("description", locale)

    def audience(self, locale="de"):
        return self._pick("audience", locale)

    def requirements(self, locale="de") -> list[str]:
        return [line.strip() for line in self._pick("requirements", locale).splitlines() if line.strip()]

    def fee_note(self, locale="de"):
        return self._pick("fee_note", locale)
