"""Department self-service (/verwaltung): services, staff of the department, configuration log.

Department admins see only their departments' services; platform admins see all. Everyone
else gets a 404 (anonymous users are sent to the login page). The form designer, routing,
workflow and notice template editors live in views/admin_forms.py and views/admin_config.py.
"""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from extensions import db
from forms.admin import ActionForm, ServiceForm, StaffAddForm, StaffRoleForm, choice_list
from forms.staff import ROLE_LABELS
from models import Membership, MembershipRole, Service
from services import access, accounts, admin_services, config_log, drafts
from services.catalog import FALLBACK_TOPIC, TOPICS
from services.errors import PermissionDenied, ValidationFailed
from services.notices import notice_title
from services.notices.failures import failure_reason
from services.tx import transaction
from views.access import get_or_404, load_department_for_admin

bp = Blueprint("admin", __name__, url_prefix="/verwaltung")


def require_admin() -> None:
    """Guard of every /verwaltung blueprint: department admins and platform admins only."""
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())
    if not (current_user.is_staff and current_user.is_active):
        abort(404)
    if not (current_user.is_platform_admin or current_user.department_ids(MembershipRole.ADMIN)):
        abort(404)


bp.before_request(require_admin)


def locale() -> str:
    return str(get_locale())


def actor():
    return current_user._get_current_object()


def load_service_for_admin(service_id: int) -> Service:
    """A service of a department the current user administers, else 404."""
    service = db.session.get(Service, service_id)
    if service is None or not access.may_administer_department(current_user, service.department):
        abort(404)
    return service


def apply_error(form, exc, default: str) -> None:
    """Show a ValidationFailed at the form field it names (or `default`)."""
    field = getattr(form, exc.details.get("field") or default, None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]


def set_topic_choices(form) -> None:
    form.topic.choices = choice_list((t.key, t.label(locale())) for t in TOPICS.values())
    if form.topic.data is None:
        form.topic.data = FALLBACK_TOPIC


@bp.get("/")
def index():
    departments = admin_services.departments_for_admin(current_user)
    services = admin_services.services_of(departments)
    by_department = {d.id: [s for s in services if s.department_id == d.id] for d in departments}
    return render_template("admin/index.html", departments=departments, by_department=by_department,
                           failed_by_department=admin_services.failed_notices_of(departments),
                           notice_title=notice_title, failure_reason=failure_reason,
                           may_view=lambda req: access.staff_may_view(current_user, req))


@bp.route("/aemter/<int:department_id>/leistungen/neu", methods=["GET", "POST"])
def service_create(department_id):
    department = load_department_for_admin(department_id)
    form = ServiceForm()
    set_topic_choices(form)
    if form.validate_on_submit():
        try:
            with transaction():
                service = admin_services.create_service(department, form.service_data(), actor())
        except ValidationFailed as exc:
            apply_error(form, exc, "title_de")
        else:
            if service.active:
                flash(_("Die Leistung ist angelegt. Gestalten Sie jetzt das Antragsformular."), "success")
            else:
                flash(_("Die Leistung ist angelegt. Gestalten Sie jetzt das Antragsformular; im Katalog "
                        "erscheint sie, sobald Sie sie aktivieren."), "success")
            return redirect(url_for("admin_forms.designer", service_id=service.id), 303)
    return render_template("admin/service_form.html", form=form, department=department, service=None), (
        400 if form.errors else 200
    )


@bp.get("/leistungen/<int:service_id>")
def service(service_id):
    service = load_service_for_admin(service_id)
    with transaction():  # a service created elsewhere (seed, ops) gets its starter definition once
        definition = admin_services.ensure_definition(service)
    return render_template("admin/service.html", service=service, definition=definition,
                           open_drafts=drafts.count_open_drafts(service))


@bp.route("/leistungen/<int:service_id>/bearbeiten", methods=["GET", "POST"])
def service_edit(service_id):
    service = load_service_for_admin(service_id)
    form = ServiceForm(obj=service)
    set_topic_choices(form)
    if not form.is_submitted():
        form.fee.data = service.fee_cents / 100
    open_drafts = drafts.count_open_drafts(service)
    if form.validate_on_submit():
        was_active = service.active
        try:
            with transaction():
                admin_services.update_service(service, form.service_data(), actor())
        except ValidationFailed as exc:
            apply_error(form, exc, "title_de")
        else:
            flash(_("Die Angaben zur Leistung sind gespeichert."), "success")
            if was_active and not service.active and open_drafts:
                flash(_waiting_drafts_text(open_drafts), "warning")
            return redirect(url_for(".service", service_id=service.id), 303)
    return render_template(
        "admin/service_form.html", form=form, department=service.department, service=service,
        deactivation_hint=_waiting_drafts_text(open_drafts) if service.active and open_drafts else None,
    ), 400 if form.errors else 200


def _waiting_drafts_text(count: int) -> str:
    return ngettext(
        "%(num)d angefangener Antrag dieser Leistung kann nicht fortgesetzt oder abgesendet werden, "
        "solange die Leistung inaktiv ist. Er bleibt gespeichert; die Antragstellenden sehen einen "
        "Hinweis mit den Kontaktdaten des Amts.",
        "%(num)d angefangene Anträge dieser Leistung können nicht fortgesetzt oder abgesendet werden, "
        "solange die Leistung inaktiv ist. Sie bleiben gespeichert; die Antragstellenden sehen einen "
        "Hinweis mit den Kontaktdaten des Amts.",
        count,
    )


# --- staff -------------------------------------------------------------------------------------


def _members(department):
    query = select(Membership).where(Membership.department_id == department.id)
    return sorted(db.session.scalars(query), key=lambda m: (m.user.full_name or m.user.email).lower())


def _staff_page(department, add_form=None, status=200):
    return render_template(
        "admin/staff.html",
        department=department,
        members=_members(department),
        role_labels=ROLE_LABELS,
        add_form=add_form or StaffAddForm(formdata=None),
        role_form_class=StaffRoleForm,
        action_form=ActionForm(),
    ), status


@bp.get("/aemter/<int:department_id>/mitarbeitende")
def staff(department_id):
    return _staff_page(load_department_for_admin(department_id))


@bp.post("/aemter/<int:department_id>/mitarbeitende")
def staff_add(department_id):
    department = load_department_for_admin(department_id)
    form = StaffAddForm()
    if not form.validate():
        return _staff_page(department, form, 400)
    user = accounts.find_user_by_email(form.email.data)
    if user is None or not user.is_staff:
        form.email.errors = [
            _(
                "Es gibt kein Mitarbeitendenkonto mit dieser E-Mail-Adresse. Neue Konten "
                "legt die Plattform-Administration an."
            )
        ]
        return _staff_page(department, form, 400)
    try:
        with transaction():
            accounts.add_membership(actor(), user, department, form.role.data)
    except (ValidationFailed, PermissionDenied) as exc:
        apply_error(form, exc, "email")
        return _staff_page(department, form, 400)
    flash(_("%(name)s gehört jetzt zum Amt.", name=user.full_name or user.email), "success")
    return redirect(url_for(".staff", department_id=department.id), 303)


def _membership(department, membership_id):
    return get_or_404(Membership, membership_id, department_id=department.id)


@bp.post("/aemter/<int:department_id>/mitarbeitende/<int:membership_id>/rolle")
def staff_role(department_id, membership_id):
    department = load_department_for_admin(department_id)
    membership = _membership(department, membership_id)
    form = StaffRoleForm(prefix=f"m{membership.id}")
    if form.validate():
        try:
            with transaction():
                accounts.add_membership(actor(), membership.user, department, form.role.data)
        except ValidationFailed as exc:
            flash(exc.message, "error")
        else:
            flash(_("Die Rolle ist gespeichert."), "success")
    return _back_to_staff(department)


@bp.post("/aemter/<int:department_id>/mitarbeitende/<int:membership_id>/entfernen")
def staff_remove(department_id, membership_id):
    department = load_department_for_admin(department_id)
    membership = _membership(department, membership_id)
    if ActionForm().validate_on_submit():
        name = membership.user.full_name or membership.user.email
        try:
            with transaction():
                accounts.remove_membership(actor(), membership)
        except ValidationFailed as exc:
            flash(exc.message, "error")
        else:
            flash(_("%(name)s gehört nicht mehr zum Amt.", name=name), "success")
    return _back_to_staff(department)


def _back_to_staff(department):
    """The staff page, unless the admin just gave up their own rights there: then their start page
    (the login page sends a logged-in user there) instead of a 404."""
    if access.may_administer_department(current_user, department):
        return redirect(url_for(".staff", department_id=department.id), 303)
    return redirect(url_for("auth.login"), 303)


# --- configuration log -------------------------------------------------------------------------


@bp.get("/aemter/<int:department_id>/aenderungen")
def config_changes(department_id):
    department = load_department_for_admin(department_id)
    changes = config_log.changes_for(department)
    subjects = config_log.user_names(changes)
    areas = config_log.areas(changes, subjects)
    rows = [(c, areas[c.id], config_log.describe(c, subjects)) for c in changes]
    return render_template(
        "admin/changes.html", department=department, rows=rows, actors=config_log.actor_names(changes)
    )
