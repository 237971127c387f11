"""Central access-checked loaders: anything the current user may not see is a 404."""

from flask import abort, current_app
from flask_login import current_user

from extensions import db
from services import access


def get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def load_request_for_citizen(public_id: str):
    """The current citizen's own request, else 404."""
    req = access.find_request_by_public_id(public_id)
    if req is None or not access.citizen_may_view(current_user, req):
        abort(404)
    return req


def load_request_for_staff(public_id: str):
    """A request routed to one of the current clerk's departments, else 404."""
    req = access.find_request_by_public_id(public_id)
    if req is None or not access.staff_may_view(current_user, req):
        abort(404)
    return req


def load_draft_for_citizen(public_id: str):
    draft = access.find_draft_by_public_id(public_id)
    if draft is None or not access.citizen_may_view_draft(current_user, draft):
        abort(404)
    return draft


def load_department_for_admin(department_id: int):
    """A department the current user administers (or any, for platform admins), else 404."""
    dept = access.find_department(department_id)
    if dept is None or not access.may_administer_department(current_user, dept):
        abort(404)
    return dept


def require_platform_admin() -> None:
    """Guard for /betrieb: anonymous users go to the login page, everyone else but platform admins 404."""
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())
    if not access.is_platform_admin(current_user):
        abort(404)


def load_staff_user(user_id: int):
    """A staff account (for platform admins managing staff), else 404."""
    from models import User

    user = db.session.get(User, user_id)
    if user is None or not user.is_staff:
        abort(404)
    return user
