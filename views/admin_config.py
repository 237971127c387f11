"""Routing rules, workflow and notice templates of a service (/verwaltung/leistungen/<id>/...)."""

from flask import Blueprint

from views.admin import require_admin

bp = Blueprint("admin_config", __name__, url_prefix="/verwaltung/leistungen/<int:service_id>")
bp.before_request(require_admin)
