"""Readiness checks for /readyz: can this process reach its database and Redis?"""

import logging
import subprocess

import redis
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from services.redis_conn import EmbeddedRedis, get_redis

log = logging.getLogger(__name__)


def check_database() -> bool:
    """True when the database answers `SELECT 1`."""
    try:
        return db.session.execute(text("SELECT 1")).scalar() == 1
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        db.session.rollback()
        return False


def check_redis() -> bool:
    """True when Redis answers PING. A probe never starts the embedded server (`make run` owns it)."""
    config = current_app.config
    try:
        if not config.get("REDIS_URL"):
            return EmbeddedRedis(config["INSTANCE_PATH"]).is_alive()
        return bool(get_redis().ping())
    except (redis.RedisError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
        log.warning("readiness: redis unreachable (%s)", type(exc).__name__)
        return False


CHECKS = {"database": check_database, "redis": check_redis}


def readiness() -> dict:
    """Run every check; `ready` is true only when all pass. Names only, no error details leak out."""
    results = {name: ("ok" if check() else "unavailable") for name, check in CHECKS.items()}
    return {"ready": all(v == "ok" for v in results.values()), "checks": results}
