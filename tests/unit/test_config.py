"""Configuration from the environment: production refuses unsafe settings, proxies are opt-in."""

import pytest

from app import create_app
from config import ConfigError, load_config


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        load_config({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(ConfigError):
        load_config({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})


def test_embedded_mode_generates_the_secret_key_once(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config({"ENV_NAME": "embedded", "INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"ENV_NAME": "embedded", "INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_rate_limits_are_shared_through_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    cfg = load_config({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"


def _whoami(app, tmp_path, proxies: int) -> str:
    """remote address and scheme as an app with `proxies` trusted proxies sees a forwarded request."""
    keys = ("ENV_NAME", "SECRET_KEY")
    other = create_app(
        {
            **{k: app.config[k] for k in keys},
            "INSTANCE_PATH": str(tmp_path / f"p{proxies}"),
            "TRUSTED_PROXIES": proxies,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
        }
    )

    @other.get("/_whoami")
    def whoami():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    return other.test_client().get("/_whoami", headers=headers).get_data(as_text=True)


def test_trusted_proxy_sets_client_address_and_scheme(app, tmp_path):
    assert _whoami(app, tmp_path, proxies=1) == "203.0.113.7 https"


def test_forwarded_headers_are_ignored_unless_a_proxy_is_trusted(app, tmp_path):
    assert _whoami(app, tmp_path, proxies=0) == "127.0.0.1 http"


def test_outbox_handover_is_the_relay_on_postgresql_and_the_writer_elsewhere(monkeypatch, tmp_path):
    monkeypatch.delenv("OUTBOX_HANDOVER", raising=False)

    def handover(uri, **more):
        overrides = {"ENV_NAME": "embedded", "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": uri}
        return load_config({**overrides, **more})["OUTBOX_HANDOVER"]

    assert handover("postgresql+psycopg://db/amtsweg") == "relay"  # woken by NOTIFY
    assert handover(f"sqlite:///{tmp_path / 'a.db'}") == "commit"  # nothing could wake it
    assert handover("postgresql+psycopg://db/amtsweg", OUTBOX_HANDOVER="commit") == "commit"
    with pytest.raises(ConfigError):
        handover(f"sqlite:///{tmp_path / 'a.db'}", OUTBOX_HANDOVER="relay")
    with pytest.raises(ConfigError):
        handover("postgresql+psycopg://db/amtsweg", OUTBOX_HANDOVER="later")


def test_csrf_key_follows_the_fallbacks(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "n" * 40)
    assert "WTF_CSRF_SECRET_KEY" not in load_config({"INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "a" * 40 + "," + "b" * 40)
    cfg = load_config({"INSTANCE_PATH": str(tmp_path)})
    assert cfg["WTF_CSRF_SECRET_KEY"] == ["b" * 40, "a" * 40, "n" * 40]  # signs with the last
