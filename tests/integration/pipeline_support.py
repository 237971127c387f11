"""Helpers for the pipeline tests: a private redis-server, and worker entry points for subprocesses."""

import os
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server on 127.0.0.1:<port>, without persistence (a restart loses everything)."""

    def __init__(self, port: int, directory: Path):
        self.port, self.dir, self.proc = port, Path(directory), None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def slow_issue_notice(payload: dict) -> None:
    """render_notice, after a pause: gives a test time to kill the worker in the middle of the job."""
    from services.notices.issue import issue_notice_job

    time.sleep(float(os.environ.get("PIPELINE_SLOW", "0")))
    issue_notice_job(payload)


def _use_slow_job() -> None:
    if float(os.environ.get("PIPELINE_SLOW", "0")) > 0:
        from workers import registry

        registry.JOBS["render_notice"] = "tests.integration.pipeline_support:slow_issue_notice"


def run_worker() -> None:
    """`flask worker`, optionally with the slow notice job."""
    from app import create_app
    from workers.worker import configure_logging, run_workers

    _use_slow_job()
    configure_logging()
    run_workers(create_app())


def run_outbox_directly(outbox_id: int) -> None:
    """Execute one outbox row in this process, as a duplicate delivery would."""
    from app import create_app
    from workers import tasks

    _use_slow_job()
    tasks.set_app(create_app())
    tasks.run_outbox(outbox_id)
