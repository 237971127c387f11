"""The public service catalog: topics, search and grouping of active services."""

from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from extensions import db
from models import Department, Service

MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class Topic:
    """A catalog topic (Lebenslage) with its labels in both languages."""

    key: str
    de: str
    en: str

    def label(self, locale: str = "de") -> str:
        return self.en if locale == "en" else self.de


# Registry of topics, in display order. `Service.topic` holds one of these keys; an unknown key is
# shown under "allgemein" rather than hidden.
TOPICS: dict[str, Topic] = {
    t.key: t
    for t in (
        Topic("meldewesen", "Meldewesen und Ausweise", "Registration and identity documents"),
        Topic("mobilitaet", "Mobilität und Verkehr", "Mobility and transport"),
        Topic("oeffentlicher_raum", "Öffentlicher Raum", "Public space"),
        Topic("wirtschaft", "Wirtschaft und Gewerbe", "Business and trade"),
        Topic("steuern", "Steuern und Abgaben", "Taxes and charges"),
        Topic("tiere", "Tiere", "Animals"),
        Topic("familie", "Familie und Soziales", "Family and social affairs"),
        Topic("bauen_wohnen", "Bauen und Wohnen", "Building and housing"),
        Topic("umwelt", "Umwelt und Abfall", "Environment and waste"),
        Topic("allgemein", "Sonstige Leistungen", "Other services"),
    )
}
FALLBACK_TOPIC = "allgemein"

GROUPINGS = ("thema", "behoerde")  # URL values of ?gruppierung=


@dataclass
class CatalogGroup:
    """One heading of the catalog list and the services under it."""

    key: str
    label: str
    services: list[Service] = field(default_factory=list)


def topic_for(service: Service) -> Topic:
    """The topic of a service (the fallback topic for unknown keys)."""
    return TOPICS.get(service.topic) or TOPICS[FALLBACK_TOPIC]


def normalise_query(raw: str | None) -> str:
    """Trim, collapse whitespace and cap the length of a search query."""
    return " ".join((raw or "").split())[:MAX_QUERY_LENGTH]


# A service is offered online while it and its department are active: only then is it public, can
# a draft be started, continued or submitted. The same rule in SQL (for queries joining services
# and departments) and in Python (is_offered).
OFFERED = and_(Service.active.is_(True), Department.active.is_(True))


def is_offered(service: Service) -> bool:
    """True while `service` is offered online (it and its department are active)."""
    return bool(service.active and service.department.active)


def active_services() -> list[Service]:
    """All active services of active departments, with their department loaded."""
    stmt = select(Service).join(Service.department).where(OFFERED).options(joinedload(Service.department))
    return list(db.session.scalars(stmt))


def find_active_service(slug: str) -> Service | None:
    """The active service with this slug, or None (inactive services are not public)."""
    stmt = select(Service).join(Service.department).where(Service.slug == slug, OFFERED)
    return db.session.scalars(stmt).first()


def _haystack(service: Service) -> str:
    parts = [
        service.title_de,
        service.title_en,
        service.summary_de,
        service.summary_en,
        service.description_de,
        service.description_en,
        service.leika_key or "",
    ]
    return " ".join(p for p in parts if p).casefold()


def matches(service: Service, query: str) -> bool:
    """True when every word of the query occurs in the service's texts (de or en) or LeiKa key."""
    haystack = _haystack(service)
    return all(word.casefold() in haystack for word in query.split())


def search_services(query: str, locale: str = "de") -> list[Service]:
    """Active services matching the query, sorted by title in `locale`; all of them for an empty query.

    Matching runs in Python with `str.casefold`: SQLite's LIKE folds only ASCII (Ä ≠ ä) and the
    catalog of one city is a few hundred rows at most, so this is both correct and cheap.
    """
    query = normalise_query(query)
    services = [s for s in active_services() if not query or matches(s, query)]
    return sorted(services, key=lambda s: s.title(locale).casefold())


def group_services(services: list[Service], by: str = "thema", locale: str = "de") -> list[CatalogGroup]:
    """Group services by topic (registry order) or by department (name order); empty groups dropped."""
    groups: dict[str, CatalogGroup] = {}
    if by == "behoerde":
        for service in services:
            dept = service.department
            group = groups.setdefault(dept.slug, CatalogGroup(dept.slug, dept.name(locale)))
            group.services.append(service)
        return sorted(groups.values(), key=lambda g: g.label.casefold())
    for service in services:
        topic = topic_for(service)
        groups.setdefault(topic.key, CatalogGroup(topic.key, topic.label(locale))).services.append(service)
    order = list(TOPICS)
    return sorted(groups.values(), key=lambda g: order.index(g.key))


def topic_overview(locale: str = "de") -> list[CatalogGroup]:
    """Topics that have at least one active service, with their services (for the start page)."""
    return group_services(search_services("", locale), "thema", locale)
