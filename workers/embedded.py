"""`python -m workers.embedded run` (what `make run` does): the whole system on one machine.

Prepares the database (migrations, development PKI, demo seed when empty), owns the embedded
Redis server (start once, reuse a live one, stop it at the end), then runs web + worker + relay
from the Procfile with honcho, all pointed at that Redis through `REDIS_URL=unix://…`.
Ctrl-C (or SIGTERM) stops honcho's processes first, then the Redis server we own.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from config import BASE_DIR

FLASK = [sys.executable, "-m", "flask"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.embedded")
    parser.add_argument("command", choices=["run", "stop-redis"])
    args = parser.parse_args(argv)
    # The printed URL (and links in e-mails) follow the port the web process will listen on.
    os.environ.setdefault("BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '5000')}")
    from app import create_app

    app = create_app()
    if args.command == "stop-redis":
        return stop_redis(app)
    return run(app)


def run(app) -> int:
    env = _child_env()
    prepare(app, env)
    redis_url, server = _start_redis(app)
    env["REDIS_URL"] = redis_url
    _banner(app, redis_url)
    try:
        return _run_procfile(env)
    finally:
        if server is not None:
            print("Stopping the embedded Redis server …", flush=True)
            server.stop()
            _owner_file(server).unlink(missing_ok=True)


def prepare(app, env) -> None:
    """Schema, development PKI and demo data: each step only does something when needed."""
    _flask(env, "db", "upgrade")
    _flask(env, "pki", "init")
    _flask(env, "seed", "demo", "--if-empty")
    _flask(env, "seed", "shipped-templates")  # unedited copies of earlier shipped templates follow


def _start_redis(app):
    """(url, server we own or None). An external REDIS_URL is used as it is, never managed."""
    if app.config.get("REDIS_URL"):
        return app.config["REDIS_URL"], None
    from services.redis_conn import EmbeddedRedis

    server = EmbeddedRedis(app.config["INSTANCE_PATH"])
    url = server.ensure_running()
    owner = _owner_file(server)
    other = _read_pid(owner)
    if not server.started and other not in (None, os.getpid()) and _alive(other):
        print(f"Reusing the embedded Redis of the running `make run` (pid {other}).", flush=True)
        return url, None
    print(("Started" if server.started else "Adopted") + f" the embedded Redis server ({url}).", flush=True)
    owner.write_text(str(os.getpid()))
    return url, server


def stop_redis(app) -> int:
    """Stop a leftover embedded Redis server (e.g. after `make run` was killed with SIGKILL)."""
    from services.redis_conn import EmbeddedRedis

    server = EmbeddedRedis(app.config["INSTANCE_PATH"])
    server.stop()
    _owner_file(server).unlink(missing_ok=True)
    print("embedded Redis stopped")
    return 0


def _run_procfile(env) -> int:
    """honcho runs the Procfile; we only forward SIGTERM and wait (Ctrl-C reaches the whole group)."""
    honcho = [sys.executable, "-m", "honcho", "-f", "Procfile", "start"]
    proc = subprocess.Popen(honcho, cwd=BASE_DIR, env=env)  # noqa: S603
    stopping = []

    def forward(signum, _frame):
        stopping.append(signum)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)  # the terminal sends SIGINT to honcho too; never die first
    code = proc.wait()
    return 0 if stopping else code  # stopped on request: a clean exit, not an error for make


def _banner(app, redis_url) -> None:
    base = app.config["BASE_URL"]
    print(
        f"\nAmtsweg (embedded mode): web, worker and outbox relay are starting.\n"
        f"  Open {base}/   —   Ctrl-C stops everything.\n  Redis: {redis_url}\n",
        flush=True,
    )


def _child_env() -> dict:
    env = dict(os.environ)
    env.setdefault("FLASK_APP", "app:create_app")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _flask(env, *args) -> None:
    subprocess.run([*FLASK, *args], cwd=BASE_DIR, env=env, check=True)  # noqa: S603


def _owner_file(server) -> Path:
    return server.dir / "owner.pid"


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
