"""Application factory: config, extensions, blueprints, error handlers, CLI. No side effects."""

import functools

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

import commands
import views
from config import load_config
from extensions import babel, csrf, db, limiter, login_manager, migrate
from services import formatting
from views import errors as error_views
from views.public import format_fee
from views.security import apply_security_headers, reject_nul_in_url


def create_app(config: dict | None = None) -> Flask:
    cfg = load_config(config)
    app = Flask(__name__, instance_path=cfg["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(cfg)
    if cfg["TRUSTED_PROXIES"]:
        # Client IP (rate limits) and scheme (secure cookies, external URLs) from the proxy's headers.
        n = cfg["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    _init_extensions(app)
    views.register_blueprints(app)
    error_views.register(app)
    commands.register(app)
    app.before_request(reject_nul_in_url)
    app.after_request(apply_security_headers)
    app.context_processor(_template_globals)
    app.add_template_filter(format_fee, "fee")  # cents → "30,70 €" / "€30.70" (UI locale)
    # Locale-aware, instead of fixed patterns such as 'dd.MM.yyyy' or Jinja's English filesizeformat.
    app.add_template_filter(formatting.format_timestamp, "timestamp")
    app.add_template_filter(formatting.format_day, "day")
    app.add_template_filter(formatting.format_size, "filesize")
    return app


def _init_extensions(app: Flask) -> None:
    import models  # noqa: F401  (registers every table on the metadata)
    from services import config_generation  # noqa: F401  (its listener renews the configuration token)

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Berlin")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)


def _load_user(session_token: str):
    """Session holds "<id>:<session_version>": a bumped version logs out every old session."""
    user_id, _, version = session_token.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = _loaded_user(int(user_id))
    if user is None:
        user = db.session.execute(_user_by_id(), {"user_id": int(user_id)}).scalar_one_or_none()
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def _loaded_user(user_id: int):
    """The account if this request's session already holds it (the submit's lock query loads the
    draft's owner with the draft), else None."""
    from sqlalchemy.orm.util import identity_key

    from models import User

    return db.session.identity_map.get(identity_key(User, user_id))


@functools.cache
def _user_by_id():
    """Built once: session.get builds and cache-keys its query on every request (~0.15 ms)."""
    from sqlalchemy import bindparam, select

    from models import User

    return select(User).where(User.id == bindparam("user_id"))


def select_locale() -> str:
    """Explicit choice (?lang or session) first, then the browser's preference, default German.

    This is the page language of the browser session only; the language of an account's mail is
    a setting of its own (the account page, services.accounts.set_mail_locale): see docs/languages.md.
    """
    if not has_request_context():  # workers and CLI: the default (jobs use force_locale per user)
        return None
    langs = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") if request else None
    if chosen in langs:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in langs:
        return session["lang"]
    return request.accept_languages.best_match(langs) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _template_globals():
    return {
        "current_locale": str(get_locale()),
        "url_endpoints": current_app.view_functions.keys(),
        "switch_language_url": _switch_language_url,
    }


def _switch_language_url(lang: str) -> str:
    """The current page in another language, keeping its query (search terms, filters)."""
    from flask import url_for

    if request.endpoint is None or request.method != "GET":
        return url_for("public.index", lang=lang)
    path_args = request.view_args or {}
    # Query keys that url_for reads itself (endpoint, _external, ...) or that clash with the path's
    # are the visitor's to choose, so they are dropped rather than let them break the page.
    args = {k: v for k, v in request.args.items(multi=False)
            if k != "lang" and k != "endpoint" and not k.startswith("_") and k not in path_args}
    return url_for(request.endpoint, **path_args, **args, lang=lang)
