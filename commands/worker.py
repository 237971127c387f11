"""`flask worker`: the background worker (warm once, then one RQ worker per core)."""

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--count", type=int, default=None, help="Worker processes (default: WORKER_COUNT).")
@click.option("--max-jobs", type=int, default=None, help="Recycle a worker process after this many jobs.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty (tests, benchmarks).")
@with_appcontext
def cli(count, max_jobs, burst):
    """Run the RQ workers that execute outbox jobs (notices, emails)."""
    from workers.worker import configure_logging, run_workers

    configure_logging()
    app = current_app._get_current_object()
    run_workers(app, count=count, max_jobs=max_jobs, burst=burst)
