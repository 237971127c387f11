"""The citizen's Postfach (/postfach): notifications about their requests, with an unread count."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from forms.citizen import MarkAllReadForm
from services import inbox
from services.notifications import inbox_text
from services.tx import transaction
from views.access import load_inbox_item

bp = Blueprint("inbox", __name__, url_prefix="/postfach")


@bp.app_context_processor
def _unread_context():
    # Called by the account navigation in base.html: one COUNT for logged-in citizens only.
    return {"inbox_unread": lambda: inbox.unread_count(current_user)}


@bp.get("/")
@login_required
def index():
    number = request.args.get("seite", 1, type=int)  # anything not a number: the first page
    page = inbox.inbox_page(current_user, number)
    form = MarkAllReadForm(newest_id=page.newest_id)
    return render_template("citizen/inbox.html", page=page, inbox_text=inbox_text, form=form)


@bp.post("/alle-gelesen")
@login_required
def mark_all_read():
    """'Alle als gelesen markieren': every entry up to the newest one when the page was shown (plain form)."""
    form = MarkAllReadForm()
    if not form.validate_on_submit():  # only a form not sent by the Postfach page lacks the entry
        abort(400)
    with transaction():
        count = inbox.mark_all_read(current_user, int(form.newest_id.data))
    if count:
        flash(
            ngettext(
                "%(num)d Nachricht als gelesen markiert.", "%(num)d Nachrichten als gelesen markiert.", count
            ),
            "success",
        )
    else:
        flash(_("Es gab keine ungelesenen Nachrichten."), "info")
    number = request.args.get("seite", type=int)
    back = url_for(".index", seite=number) if number and number > 1 else url_for(".index")
    return redirect(back, 303)


@bp.get("/<int:item_id>")
@login_required
def open_item(item_id):
    """Opening an entry marks it read and leads to its request (plain link: works without JavaScript)."""
    item = load_inbox_item(item_id)
    with transaction():
        inbox.mark_read(item, current_user)
    req = item.request
    if req is None or req.applicant_id != current_user.id:  # e.g. an entry without a request
        return redirect(url_for(".index"), 303)
    return redirect(url_for("citizen.request_detail", request_id=req.public_id), 303)
