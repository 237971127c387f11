"""The notice templates Amtsweg ships (templates/notices/<kind>.html) and their earlier releases.

Stored templates are copies: the seed publishes the shipped source as the city-wide default, and a
department's own template starts as a copy of that. When a release fixes a shipped template, copies
nobody edited should follow, and copies a department edited must stay as they are. The SHA-256 of
every shipped release of each kind is listed below, oldest first; a stored copy whose published
text is one of the earlier releases (and which has no unpublished edits) is republished with the
current source by `refresh_unedited_copies` (`flask seed shipped-templates`, the container's start
and the demo seed run it). Changing a shipped template means appending its new digest here
(tests/unit/test_shipped_templates.py fails until it is).
"""

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from extensions import db
from models import NoticeTemplate
from services.notices.context import bundled_source

RELEASES: dict[str, tuple[str, ...]] = {
    "receipt": (
        "7c544371e6f7a712e90bb66a07a35a6da8b98c144d3549b20c9b5185c438f13b",
        "285e868688a67b03926a78f010117a1871fca3e6c300b63d9e0c4a2aec9e86cf",
    ),
    "rejection": (
        "804ce36200beb8c2c87bc462c36ec55d9de603d374547168ec1aed93e74220e9",
        "5bc088bb0522a86c997e38687b908d592084b7eb4d025cbabcf9f25b8ac296ef",
    ),
    "information_request": (
        "1bc952bff1cdbc4e9315b538d55b577894825f2c85c6f8660732dfc77617e805",
        "7b2fc7e931ad6625b79ab81cc9a1d57bc084e400694c2fed330530e66a6132d9",
        "93d50a612e7b6f539b24a16608162267799670f0fca135d5acce4fe6e1dda069",
    ),
    "approval": ("58f8ef2d94c4759015f61da0a925474460ae939a342537dffdd251743b71bd4a",),
    "fee": ("0c4686e3169904b2bfc3dcc793b6ab225bd1d96699d14a01a1c2947582406922",),
}

CHANGE_NOTE = "Mustervorlage aktualisiert (neue Fassung der mitgelieferten Vorlage)"


def digest(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


def is_earlier_release(kind: str, html: str) -> bool:
    """True for the unedited text of a shipped release of `kind` older than the current one."""
    return digest(html) in RELEASES.get(kind, ())[:-1]


@dataclass
class RefreshReport:
    refreshed: list = field(default_factory=list)  # NoticeTemplate rows republished
    edited: list = field(default_factory=list)  # copies edited by a department: left alone


def refresh_unedited_copies(actor=None) -> RefreshReport:
    """Republish every stored copy of an earlier shipped release with the current shipped source.

    Copies with their own CSS or unpublished edits count as edited. Flushes, never commits."""
    from services.notices.templates import publish_template

    report = RefreshReport()
    for template in db.session.scalars(select(NoticeTemplate).order_by(NoticeTemplate.id)):
        latest = template.latest
        if latest is None or template.kind not in RELEASES:
            continue
        current = bundled_source(template.kind)
        if latest.html == current:
            continue
        unedited = (
            is_earlier_release(template.kind, latest.html)
            and not (latest.css or "").strip()
            and template.draft_html == latest.html
            and not (template.draft_css or "").strip()
        )
        if not unedited:
            report.edited.append(template)
            continue
        template.draft_html = current
        publish_template(template, actor, CHANGE_NOTE)
        report.refreshed.append(template)
    return report
