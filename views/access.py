"""Central access-checked loaders: anything the current user may not see is a 404."""

from flask import abort, current_app, session
from flask_login import current_user

from extensions import db
from services import access, tokens


def get_or_404(model, ident, **belongs_to):
    """The row, else 404; also 404 unless each `attribute=value` of `belongs_to` holds (parent ids)."""
    obj = db.session.get(model, ident)
    if obj is None or any(getattr(obj, name) != value for name, value in belongs_to.items()):
        abort(404)
    return obj


# Browser-session keys of anonymous use (the session cookie is signed; only hashes are in the DB).
DRAFT_TOKEN_KEY = "anon_draft_token"  # noqa: S105 (a session key, not a secret); binds the anonymous drafts started in this session
STATUS_TOKENS_KEY = "status_tokens"  # request public id -> token of its personal status link


def session_draft_token(create: bool = False) -> str | None:
    """This browser session's token for anonymous drafts (made on first use when `create`)."""
    token = session.get(DRAFT_TOKEN_KEY)
    if token is None and create:
        token = session[DRAFT_TOKEN_KEY] = tokens.random_token()
    return token


def status_token_for(public_id: str) -> str | None:
    tokens_ = session.get(STATUS_TOKENS_KEY)
    return tokens_.get(public_id) if isinstance(tokens_, dict) else None


def remember_status_token(public_id: str, token: str) -> None:
    """Let this browser session open the anonymous request (after its status link was opened)."""
    known = dict(session.get(STATUS_TOKENS_KEY) or {})
    known[public_id] = token
    session[STATUS_TOKENS_KEY] = dict(list(known.items())[-20:])  # a few per session is plenty


def login_or_404():
    """Anonymous visitors may own the object through an account: send them to log in; others 404."""
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())
    abort(404)


def load_request_for_citizen(public_id: str):
    """The current citizen's own request, or an anonymous one this session holds the status link of."""
    req = access.find_request_by_public_id(public_id)
    if req is None or not access.citizen_may_view(current_user, req, status_token_for(public_id)):
        login_or_404()
    return req


def applicant_actor(req):
    """Who acts as the applicant of `req` in this request: the user, or the status link's holder."""
    if access.is_applicant(req, current_user):
        return current_user._get_current_object()
    return access.holder_for(req, status_token_for(req.public_id))


def load_inbox_item(item_id: int):
    """An entry of the current user's own Postfach, else 404."""
    from models import InboxItem

    return get_or_404(InboxItem, item_id, user_id=current_user.id)


def load_request_for_staff(public_id: str):
    """A request routed to one of the current clerk's departments, else 404."""
    req = access.find_request_by_public_id(public_id)
    if req is None or not access.staff_may_view(current_user, req):
        abort(404)
    return req


def load_draft_for_citizen(public_id: str, submitted_too: bool = False):
    """The current user's (or this browser session's anonymous) draft; unsubmitted unless `submitted_too`."""
    draft = access.find_draft_by_public_id(public_id)
    may = access.may_use_draft if submitted_too else access.citizen_may_view_draft
    if draft is None or not may(current_user, draft, session_draft_token()):
        login_or_404()
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
