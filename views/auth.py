"""Accounts: register, confirm email, log in/out, change and reset password, staff invitations."""

import hashlib
import json
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError

from extensions import limiter
from forms.auth import (
    ActionForm,
    ChangePasswordForm,
    DeleteAccountForm,
    ForgotPasswordForm,
    LoginForm,
    MailLanguageForm,
    RegisterForm,
    ResetPasswordForm,
    language_name,
)
from models.base import city_time, utcnow
from services import accounts, drafts, privacy, tokens
from services.errors import InvalidToken, PermissionDenied, ValidationFailed
from services.mail import mail_locale
from services.tx import transaction
from views.access import DRAFT_TOKEN_KEY, STATUS_TOKENS_KEY
from views.downloads import private_file

bp = Blueprint("auth", __name__)


# --- helpers --------------------------------------------------------------------------------


def _rate_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_key() -> str:
    """Rate-limit key for the submitted email address (hashed: no addresses in the limiter store)."""
    email = accounts.normalise_email(request.form.get("email", ""))
    return "email:" + hashlib.sha256(email.encode()).hexdigest()


def _failed(response) -> bool:
    return response.status_code != 303


# Per client IP and per submitted address; only failed attempts count.
login_limits = [
    limiter.limit(_rate_limit, methods=["POST"], deduct_when=_failed),
    limiter.limit(_rate_limit, key_func=_email_key, methods=["POST"], deduct_when=_failed),
]


def _limited(view):
    for decorate in reversed(login_limits):
        view = decorate(view)
    return view


def is_safe_next(target: str | None) -> bool:
    """Only relative paths on this site: no scheme, no host, no `//` or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def _home_for(user) -> str:
    endpoints = current_app.view_functions
    if user.is_platform_admin and "ops.index" in endpoints:
        return url_for("ops.index")
    if user.is_staff and user.memberships and "clerk.queue" in endpoints:
        return url_for("clerk.queue")
    if user.is_citizen and "citizen.my_requests" in endpoints:
        return url_for("citizen.my_requests")
    return url_for("auth.account")


NEXT_KEY = "next_after_login"  # where to go after logging in, kept across registration + confirmation


def _start_session(user) -> None:
    """A fresh session for the user: of the anonymous session only the language and the status links
    opened in it survive (anonymous drafts are adopted by the account before, see login)."""
    lang, status_tokens = session.get("lang"), session.get(STATUS_TOKENS_KEY)
    session.clear()
    if lang:
        session["lang"] = lang
    if status_tokens:
        session[STATUS_TOKENS_KEY] = status_tokens
    login_user(user)


def _clear_session() -> None:
    """Forget everything of the session but its language (after logging out)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _next_target() -> str | None:
    """A safe `next` from the query string, else the one remembered when registering in this visit."""
    for target in (request.args.get("next"), session.get(NEXT_KEY)):
        if is_safe_next(target):
            return target
    return None


def _field_error(form, exc: ValidationFailed, default: str) -> None:
    field = getattr(form, exc.details.get("field") or default, None) or getattr(form, default)
    field.errors = [*field.errors, exc.message]


def _invalid_link(kind: str):
    return render_template("auth/link_invalid.html", kind=kind), 400


# --- log in / out ---------------------------------------------------------------------------


@bp.route("/anmelden", methods=["GET", "POST"])
@_limited
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        with transaction():
            user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            target, draft_token = _next_target(), session.get(DRAFT_TOKEN_KEY)
            if draft_token and user.is_citizen:
                with transaction():  # drafts filled in before logging in continue in the account
                    drafts.adopt_drafts(draft_token, user)
            _start_session(user)
            return redirect(target or _home_for(user), 303)
        # One message for unknown address, wrong password and locked account.
        form.email.errors = [_("E-Mail-Adresse oder Passwort ist nicht richtig.")]
    return render_template("auth/login.html", form=form)


@bp.post("/abmelden")
def logout():
    if current_user.is_authenticated:
        with transaction():
            accounts.end_sessions(current_user._get_current_object())
        logout_user()
    _clear_session()
    flash(_("Sie wurden abgemeldet."), "success")
    return redirect(url_for("public.index"), 303)


# --- registration and email confirmation ----------------------------------------------------


@bp.route("/registrieren", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = RegisterForm()
    if is_safe_next(request.args.get("next")):
        session[NEXT_KEY] = request.args["next"]  # back there after confirming and logging in
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.register_citizen(
                    form.email.data, form.password.data, form.full_name.data, locale=str(get_locale())
                )
        except ValidationFailed as exc:
            _field_error(form, exc, "password")
        else:
            return redirect(url_for("auth.register_sent"), 303)
    return render_template("auth/register.html", form=form)


@bp.get("/registrieren/postfach")
def register_sent():
    return render_template("auth/check_email.html", kind="register")


@bp.route("/bestaetigen/<token>", methods=["GET", "POST"])
def email_confirm(token):
    """GET shows a button, POST confirms: link scanners that prefetch GET change nothing."""
    try:
        user = tokens.load_token("confirm", token)
    except InvalidToken:
        return _invalid_link("confirm")
    form = ActionForm()
    if form.validate_on_submit():
        with transaction():
            accounts.confirm_email(user)
        flash(_("Vielen Dank! Ihre E-Mail-Adresse ist bestätigt."), "success")
        return redirect(url_for("auth.account" if current_user.is_authenticated else "auth.login"), 303)
    return render_template("auth/confirm.html", form=form, email=user.email)


@bp.post("/konto/bestaetigung")
@login_required
@limiter.limit(_rate_limit)
def confirmation_resend():
    with transaction():
        sent = accounts.send_confirmation(current_user._get_current_object())
    if sent:
        flash(_("Wir haben Ihnen einen neuen Bestätigungslink geschickt."), "success")
    else:
        flash(_("Ihre E-Mail-Adresse ist bereits bestätigt."), "info")
    return redirect(url_for("auth.account"), 303)


# --- account and passwords ------------------------------------------------------------------


def _account_page(form=None, language_form=None, status=200):
    """The account page; the form that was sent comes back with its errors, the other one fresh."""
    current = mail_locale(current_user)  # what mail is written in now, also for an outdated value
    if form is None:
        form = ChangePasswordForm(formdata=None)
    if language_form is None:
        language_form = MailLanguageForm(formdata=None, language=current)
    return render_template(
        "auth/account.html", form=form, language_form=language_form, resend_form=ActionForm(),
        mail_language=language_name(current),
    ), status  # fmt: skip


@bp.get("/konto")
@login_required
def account():
    return _account_page()


@bp.post("/konto/passwort")
@login_required
def password_change():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            with transaction():
                accounts.change_password(user, form.current_password.data, form.password.data)
        except ValidationFailed as exc:
            _field_error(form, exc, "password")
        else:
            _start_session(user)  # this session continues with the new session version
            flash(_("Ihr Passwort wurde geändert. Alle anderen Sitzungen wurden beendet."), "success")
            return redirect(url_for("auth.account"), 303)
    return _account_page(form=form)


@bp.post("/konto/sprache")
@login_required
def mail_language_change():
    """The language of the account's e-mails; the page language (header switcher) stays as it is."""
    form = MailLanguageForm()
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.set_mail_locale(current_user._get_current_object(), form.language.data)
        except ValidationFailed as exc:
            _field_error(form, exc, "language")
        else:
            language = language_name(form.language.data)
            flash(_("Ihre Sprache für E-Mails ist gespeichert: %(language)s.", language=language), "success")
            return redirect(url_for("auth.account"), 303)
    return _account_page(language_form=form, status=400)


# --- your data (DSGVO): a copy to download, deleting the account -----------------------------


def _export_limit():
    return current_app.config["DATA_EXPORT_RATE_LIMIT"]


def _account_key() -> str:
    """Rate-limit key of the logged-in account (login_required runs first)."""
    return f"account:{getattr(current_user, 'id', None)}"


@bp.get("/konto/daten")
@login_required
@limiter.limit(_export_limit, key_func=_account_key)
def data_export():
    """The account's data as a JSON file ("Meine Daten herunterladen"), kept in no cache.

    A GET: it changes nothing, and another site can at most start the download, never read it.
    """
    now = utcnow()
    data = privacy.export_personal_data(current_user._get_current_object(), str(get_locale()), now=now)
    response = make_response(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="amtsweg-meine-daten-{city_time(now):%Y-%m-%d}.json"'
    )
    private_file(response)
    response.headers["Cache-Control"] = "no-store"
    return response


DELETED_KEY = "account_deleted"  # what the deletion did, for the confirmation page of this browser


# Only failed attempts count (a wrong password): guessing it with a taken-over session is slow.
@bp.route("/konto/loeschen", methods=["GET", "POST"])
@login_required
@limiter.limit(_rate_limit, methods=["POST"], deduct_when=_failed)
def account_delete():
    user = current_user._get_current_object()
    form = DeleteAccountForm()
    if not privacy.may_delete_account(user):  # staff: the page says who closes their account
        return render_template("auth/account_delete.html", form=form, allowed=False), (
            403 if request.method == "POST" else 200
        )
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            with transaction():
                done = privacy.delete_account(user, form.password.data)
        except ValidationFailed as exc:
            _field_error(form, exc, "password")
        except PermissionDenied as exc:
            flash(exc.message, "error")
            return redirect(url_for("auth.account"), 303)
        else:
            logout_user()
            _clear_session()
            session[DELETED_KEY] = {"drafts": done.drafts, "released": done.released, "kept": len(done.kept)}
            return redirect(url_for("auth.account_deleted"), 303)
    return render_template("auth/account_delete.html", form=form, allowed=True,
                           preview=privacy.deletion_preview(user)), status


@bp.get("/konto/geloescht")
def account_deleted():
    summary = session.get(DELETED_KEY)
    if not isinstance(summary, dict) or current_user.is_authenticated:
        return redirect(url_for("public.index"))
    return render_template("auth/account_deleted.html", summary=summary)


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
@_limited
def password_forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with transaction():
            accounts.request_password_reset(form.email.data)
        return redirect(url_for("auth.password_forgot_sent"), 303)
    return render_template("auth/password_forgot.html", form=form)


@bp.get("/passwort-vergessen/gesendet")
def password_forgot_sent():
    return render_template("auth/check_email.html", kind="reset")


@bp.route("/passwort-neu/<token>", methods=["GET", "POST"], defaults={"purpose": "reset"})
@bp.route(
    "/einladung/<token>", methods=["GET", "POST"], defaults={"purpose": "invite"}, endpoint="invite_accept"
)
def password_reset(token, purpose):
    try:
        user = tokens.load_token(purpose, token)
    except InvalidToken:
        return _invalid_link(purpose)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.reset_password(user, form.password.data)
        except ValidationFailed as exc:
            _field_error(form, exc, "password")
        else:
            if current_user.is_authenticated:
                logout_user()
            flash(_("Ihr Passwort ist gespeichert. Bitte melden Sie sich jetzt an."), "success")
            return redirect(url_for("auth.login"), 303)
    return render_template("auth/password_reset.html", form=form, purpose=purpose)


@bp.app_errorhandler(CSRFError)
def csrf_error(exc):
    """A form without a valid token: usually an expired session or a page open for too long.

    Nothing of the post was processed. An error state ("Fehler: " in the title) that says so and
    leads back to the page with the form when the browser named one of this site (Referer)."""
    text = _(
        "Aus Sicherheitsgründen konnten wir das Formular nicht annehmen, zum Beispiel weil die Seite "
        "sehr lange geöffnet war. Die Angaben aus diesem Formular wurden nicht gespeichert; was Sie "
        "vorher gespeichert haben, bleibt erhalten."
    )
    back = same_site_referrer(request.referrer, request.host)
    hint = (
        _("Öffnen Sie die Seite erneut, laden Sie sie neu und senden Sie das Formular noch einmal.")
        if back
        else _("Bitte laden Sie die Seite mit dem Formular neu und senden Sie es noch einmal.")
    )
    return render_template(
        "errors/error.html", status=400, title=_("Formular abgelaufen"), text=text, hint=hint,
        back_url=back, has_errors=True,
    ), 400  # fmt: skip


def same_site_referrer(referrer: str | None, host: str) -> str | None:
    """Path and query of `referrer` when it is a page of this site (same host), else None."""
    try:
        parts = urlsplit(referrer or "")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.netloc != host:
        return None
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target if is_safe_next(target) else None
