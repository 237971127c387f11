"""Who may see what. Pure rules over models; views turn a False into a 404.

Besides accounts, two kinds of anonymous ownership exist (tokens come in as parameters; views
take them from the browser session): a draft started without an account belongs to the session
whose draft token hashes to `Draft.anon_token_hash`; a request submitted without an account is
open to whoever holds its personal status link (`RequestHolder`).
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import Department, Draft, MembershipRole, ServiceRequest
from models.base import utcnow
from services.errors import PermissionDenied
from services.tokens import digest_matches, request_access_token, signing_keys


def find_request_by_public_id(public_id: str):
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.public_id == public_id))


def find_draft_by_public_id(public_id: str):
    return db.session.scalar(select(Draft).where(Draft.public_id == public_id))


def find_department(department_id: int):
    return db.session.get(Department, department_id)


@dataclass(frozen=True)
class RequestHolder:
    """The applicant of a request submitted without an account, known by its personal status link.

    Acts as the workflow's `citizen` for that one request (answer a question, withdraw); it has
    no user id, so events and messages it writes carry no actor.
    """

    request_id: int
    id = None
    is_authenticated = True
    is_citizen = True
    is_staff = False
    is_platform_admin = False
    full_name = ""
    locale = "de"

    def department_ids(self, role=None) -> set:
        return set()


def has_status_link(req) -> bool:
    """Only requests submitted without an account have a personal status link."""
    return req.applicant_id is None and bool(req.access_token_hash)


def holder_for(req, token) -> RequestHolder | None:
    """A RequestHolder when `token` is the personal status token of the anonymous request `req`."""
    if req is None or not has_status_link(req):
        return None
    return RequestHolder(req.id) if digest_matches(req.access_token_hash, token) else None


def status_token(req) -> str | None:
    """The token of an anonymous request's personal status link (None for requests of an account)."""
    if not has_status_link(req):
        return None
    for key in signing_keys():  # a link issued before SECRET_KEY was rotated was made with an old key
        token = request_access_token(req.public_id, req.access_link_generation or 0, key)
        if digest_matches(req.access_token_hash, token):
            return token
    return None  # made with a key no longer configured: the holder's link still works, it is not rebuilt


def is_applicant(req, actor) -> bool:
    """True when `actor` (a user or a RequestHolder) is the applicant of `req`."""
    if isinstance(actor, RequestHolder):
        return req.applicant_id is None and actor.request_id == req.id
    return bool(
        actor is not None and getattr(actor, "is_authenticated", False)
        and req.applicant_id is not None and req.applicant_id == actor.id
    )


def citizen_may_view(user, req, token=None) -> bool:
    """The applicant's account, or (anonymous requests) whoever holds the personal status token."""
    return is_applicant(req, user) or holder_for(req, token) is not None


def anonymous_draft_expired(draft, now=None) -> bool:
    """An anonymous draft untouched for longer than ANONYMOUS_DRAFT_TTL_MINUTES (the sweeper deletes it)."""
    ttl = timedelta(minutes=current_app.config["ANONYMOUS_DRAFT_TTL_MINUTES"])
    idle_since = draft.updated_at
    return draft.user_id is None and idle_since is not None and idle_since < (now or utcnow()) - ttl


def session_owns_draft(draft, session_token) -> bool:
    """An anonymous, unexpired draft started in the browser session holding `session_token`."""
    return bool(
        draft.user_id is None
        and digest_matches(draft.anon_token_hash, session_token)
        and not anonymous_draft_expired(draft)
    )


def may_use_draft(user, draft, session_token=None) -> bool:
    """The draft's owner (account or browser session), whether it was submitted or not."""
    if getattr(user, "is_authenticated", False) and draft.user_id is not None and draft.user_id == user.id:
        return True
    return session_owns_draft(draft, session_token)


def citizen_may_view_draft(user, draft, session_token=None) -> bool:
    return draft.submitted_at is None and may_use_draft(user, draft, session_token)


def staff_may_view(user, req) -> bool:
    """Clerks see only requests currently routed to one of their departments, and never their own:
    nobody acts for the authority in a case they are a party to (§ 20 (1) no. 1 VwVfG)."""
    return bool(
        user.is_authenticated and user.is_staff and req.department_id in user.department_ids()
        and not is_applicant(req, user)
    )


def check_case_worker(actor, req) -> None:
    """Raise PermissionDenied unless `actor` may work on `req` as staff (see staff_may_view)."""
    if is_applicant(req, actor):
        raise PermissionDenied(_("Ihren eigenen Antrag bearbeiten Ihre Kolleginnen und Kollegen."))
    if not staff_may_view(actor, req):
        raise PermissionDenied(_("Sie gehören nicht zur zuständigen Abteilung."))


def may_administer_department(user, dept) -> bool:
    if not (user.is_authenticated and user.is_staff):
        return False
    return user.is_platform_admin or dept.id in user.department_ids(MembershipRole.ADMIN)


def is_platform_admin(user) -> bool:
    """Platform admins run the installation: departments, staff accounts, failed jobs."""
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.is_platform_admin)
