"""Platform operations (/betrieb): staff accounts, memberships, departments. Platform admins only."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from forms.auth import ActionForm
from forms.staff import (
    ROLE_HINTS,
    ROLE_LABELS,
    MembershipForm,
    StaffCreateForm,
    StaffSearchForm,
    set_department_choices,
)
from services import accounts
from services.errors import ValidationFailed
from services.tx import transaction
from views.access import load_staff_user, require_platform_admin

bp = Blueprint("ops", __name__, url_prefix="/betrieb")

# Cards on the ops start page: (endpoint, title, text). Other ops blueprints add theirs with
# register_section() at import time; a card shows only if its endpoint exists.
SECTIONS: list[tuple[str, object, object]] = [
    ("ops.users", _l("Mitarbeitende"), _l("Konten anlegen, Ämtern zuordnen, Rollen ändern, Konten sperren.")),
    ("ops.departments", _l("Ämter"), _l("Alle Ämter mit ihren Mitarbeitenden.")),
]


def register_section(endpoint: str, title, text) -> None:
    """Add a card to the ops start page (e.g. the failed-jobs page of another blueprint)."""
    SECTIONS.append((endpoint, title, text))


@bp.before_request
def _platform_admins_only():
    require_platform_admin()


def _locale() -> str:
    return str(get_locale())


def _actor():
    return current_user._get_current_object()


def _apply_error(form, exc: ValidationFailed, default: str) -> None:
    field = getattr(form, exc.details.get("field") or default, None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]


@bp.get("/")
def index():
    return render_template("ops/index.html", sections=SECTIONS)


@bp.get("/mitarbeitende")
def users():
    search = StaffSearchForm(request.args)
    query = search.q.data if search.validate() and search.q.data else ""
    return render_template(
        "ops/users.html", users=accounts.list_staff_users(query), search=search, role_labels=ROLE_LABELS
    )


@bp.route("/mitarbeitende/neu", methods=["GET", "POST"])
def user_create():
    form = StaffCreateForm()
    departments = accounts.list_departments()
    set_department_choices(form.department, departments, _locale())
    if form.validate_on_submit():
        department = next((d for d in departments if d.id == form.department.data), None)
        try:
            with transaction():
                user = accounts.create_staff_user(
                    _actor(), form.email.data, form.full_name.data, form.role.data, department
                )
        except ValidationFailed as exc:
            _apply_error(form, exc, "email")
        else:
            flash(
                _(
                    "Das Konto ist angelegt. Wir haben eine Einladung an %(email)s geschickt.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("ops.user_detail", user_id=user.id), 303)
    status = 400 if form.errors else 200  # as every other form page with errors
    return render_template("ops/user_create.html", form=form, role_hints=ROLE_HINTS), status


def _detail(user, membership_form=None, status=200):
    membership_form = membership_form or MembershipForm(formdata=None)
    set_department_choices(membership_form.department, accounts.list_departments(), _locale())
    return render_template(
        "ops/user_detail.html",
        user=user,
        membership_form=membership_form,
        action_form=ActionForm(),
        role_labels=ROLE_LABELS,
    ), status


@bp.get("/mitarbeitende/<int:user_id>")
def user_detail(user_id):
    return _detail(load_staff_user(user_id))


@bp.post("/mitarbeitende/<int:user_id>/mitgliedschaften")
def membership_add(user_id):
    user = load_staff_user(user_id)
    form = MembershipForm()
    departments = accounts.list_departments()
    set_department_choices(form.department, departments, _locale())
    if not form.validate():
        return _detail(user, form, status=400)
    department = next(d for d in departments if d.id == form.department.data)
    try:
        with transaction():
            accounts.add_membership(_actor(), user, department, form.role.data)
    except ValidationFailed as exc:
        _apply_error(form, exc, "department")
        return _detail(user, form, status=400)
    flash(_("Die Zuordnung zum Amt ist gespeichert."), "success")
    return redirect(url_for("ops.user_detail", user_id=user.id), 303)


@bp.post("/mitarbeitende/<int:user_id>/mitgliedschaften/<int:membership_id>/entfernen")
def membership_remove(user_id, membership_id):
    user = load_staff_user(user_id)
    membership = next((m for m in user.memberships if m.id == membership_id), None)
    if membership is None:
        abort(404)
    with transaction():
        accounts.remove_membership(_actor(), membership)
    flash(_("Die Zuordnung zum Amt wurde entfernt."), "success")
    return redirect(url_for("ops.user_detail", user_id=user.id), 303)


@bp.post("/mitarbeitende/<int:user_id>/sperren")
def user_deactivate(user_id):
    user = load_staff_user(user_id)
    try:
        with transaction():
            accounts.deactivate_user(_actor(), user)
    except ValidationFailed as exc:
        flash(exc.message, "error")
    else:
        flash(_("Das Konto ist gesperrt. Alle Sitzungen wurden beendet."), "success")
    return redirect(url_for("ops.user_detail", user_id=user.id), 303)


@bp.post("/mitarbeitende/<int:user_id>/entsperren")
def user_reactivate(user_id):
    user = load_staff_user(user_id)
    with transaction():
        accounts.reactivate_user(_actor(), user)
    flash(_("Das Konto ist wieder aktiv."), "success")
    return redirect(url_for("ops.user_detail", user_id=user.id), 303)


@bp.post("/mitarbeitende/<int:user_id>/einladung")
def invitation_send(user_id):
    user = load_staff_user(user_id)
    with transaction():
        accounts.send_invitation(_actor(), user)
    flash(_("Wir haben eine neue Einladung an %(email)s geschickt.", email=user.email), "success")
    return redirect(url_for("ops.user_detail", user_id=user.id), 303)


@bp.get("/aemter")
def departments():
    return render_template(
        "ops/departments.html", departments=accounts.list_departments(), role_labels=ROLE_LABELS
    )
