"""Ops page for background jobs (platform admins only): failed and stuck outbox rows, retry."""

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import OutboxJob
from services import outbox
from services.errors import DomainError
from services.tx import transaction
from views.access import get_or_404
from views.ops import register_section

bp = Blueprint("jobs", __name__, url_prefix="/betrieb/auftraege")
register_section(
    "jobs.job_list",
    _l("Hintergrundaufträge"),
    _l("Fehlgeschlagene und hängende Aufträge für Bescheide und E-Mails ansehen und erneut starten."),
)


def platform_admin_required(view):
    """Everyone but a platform admin gets a 404: the page does not exist for them."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not (current_user.is_authenticated and current_user.is_staff and current_user.is_platform_admin):
            abort(404)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/", endpoint="job_list")
@platform_admin_required
def job_list():
    waiting_since = outbox.oldest_pending_since()
    return render_template(
        "jobs/list.html",
        counts=outbox.outbox_state_counts(),
        jobs=outbox.list_problem_jobs(),
        waiting_since=waiting_since,
        waiting_too_long=outbox.pending_too_long(waiting_since),
    )


@bp.post("/<int:job_id>/wiederholen", endpoint="job_retry")
@platform_admin_required
def job_retry(job_id: int):
    job = get_or_404(OutboxJob, job_id)
    try:
        with transaction():
            outbox.retry_job(job)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Auftrag %(id)s wird erneut ausgeführt.", id=job_id), "success")
    return redirect(url_for("jobs.job_list"))
