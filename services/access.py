"""Who may see what. Pure rules over models; views turn a False into a 404."""

from sqlalchemy import select

from extensions import db
from models import Department, Draft, MembershipRole, ServiceRequest


def find_request_by_public_id(public_id: str):
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.public_id == public_id))


def find_draft_by_public_id(public_id: str):
    return db.session.scalar(select(Draft).where(Draft.public_id == public_id))


def find_department(department_id: int):
    return db.session.get(Department, department_id)


def citizen_may_view(user, req) -> bool:
    return bool(user.is_authenticated and req.applicant_id == user.id)


def citizen_may_view_draft(user, draft) -> bool:
    return bool(user.is_authenticated and draft.user_id == user.id and draft.submitted_at is None)


def staff_may_view(user, req) -> bool:
    """Clerks see only requests currently routed to one of their departments."""
    return bool(user.is_authenticated and user.is_staff and req.department_id in user.department_ids())


def may_administer_department(user, dept) -> bool:
    if not (user.is_authenticated and user.is_staff):
        return False
    return user.is_platform_admin or dept.id in user.department_ids(MembershipRole.ADMIN)


def is_platform_admin(user) -> bool:
    """Platform admins run the installation: departments, staff accounts, failed jobs."""
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.is_platform_admin)
