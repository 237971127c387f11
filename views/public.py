"""Public pages: start page, service catalog, service start pages, legal pages, health endpoints."""

from decimal import Decimal

from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_from_directory
from flask_babel import format_currency, get_locale
from flask_babel import lazy_gettext as _l

from services import catalog, health
from services.formdefs import latest_version

bp = Blueprint("public", __name__)

# Legal pages: URL name -> page title. Their text lives in templates/public/pages/<name>_<lang>.html
# (long legal prose is kept per language instead of as hundreds of msgids).
PAGES = {
    "impressum": _l("Impressum"),
    "datenschutz": _l("Datenschutzerklärung"),
    "barrierefreiheit": _l("Erklärung zur Barrierefreiheit"),
}


def _locale() -> str:
    return "en" if str(get_locale()) == "en" else "de"


def format_fee(fee_cents: int) -> str:
    """A fee in euros, formatted for the UI locale (30,70 € / €30.70)."""
    return format_currency(Decimal(fee_cents) / 100, "EUR")


@bp.get("/")
def index():
    return render_template("public/index.html", topics=catalog.topic_overview(_locale()))


@bp.get("/leistungen", endpoint="catalog")  # function renamed: `catalog` is the service module
def catalog_list():
    query = catalog.normalise_query(request.args.get("q"))
    grouping = request.args.get("gruppierung")
    grouping = grouping if grouping in catalog.GROUPINGS else catalog.GROUPINGS[0]
    services = catalog.search_services(query, _locale())
    groups = catalog.group_services(services, grouping, _locale())
    return render_template(
        "public/catalog.html", query=query, grouping=grouping, groups=groups, count=len(services)
    )


@bp.get("/leistungen/<slug>")
def service(slug):
    svc = catalog.find_active_service(slug)
    if svc is None:
        abort(404)
    # "Antrag starten" only where it leads somewhere: the citizen journey exists and a form is published.
    can_apply = "citizen.start" in current_app.view_functions and latest_version(svc) is not None
    return render_template(
        "public/service.html", service=svc, fee=format_fee(svc.fee_cents), can_apply=can_apply
    )


@bp.get("/seite/<name>")
def page(name):
    if name not in PAGES:
        abort(404)
    body = f"public/pages/{name}_{_locale()}.html"
    return render_template("public/page.html", name=name, title=PAGES[name], body=body)


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links (pages link static/favicon.svg too)."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=7 * 24 * 3600
    )


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Touches neither database nor Redis."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: database and Redis reachable; 503 naming the failed check otherwise."""
    result = health.readiness()
    return jsonify(status="ok" if result["ready"] else "unavailable", checks=result["checks"]), (
        200 if result["ready"] else 503
    )
