"""The app under benchmark: the production app plus a bench-only baseline endpoint.

The baseline (`POST /bench/baseline`) does one bare INSERT and commits: the floor any real
submission is compared with. It exists only here, never in the production blueprints.
"""

from flask import Blueprint
from sqlalchemy import text

from app import create_app
from extensions import csrf, db

bp = Blueprint("bench", __name__)

BASELINE_TABLE = "bench_baseline"


@bp.route("/bench/baseline", methods=["POST"])
def baseline():
    db.session.execute(text(f"INSERT INTO {BASELINE_TABLE} (payload) VALUES (:p)"), {"p": "x" * 64})  # noqa: S608
    db.session.commit()
    return "", 204


def create_bench_app():
    """create_app() with the baseline blueprint registered (CSRF-exempt: it has no form)."""
    app = create_app()
    csrf.exempt(bp)
    app.register_blueprint(bp)
    return app
