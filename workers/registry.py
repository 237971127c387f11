"""Outbox kind → job function. Job functions take the outbox payload (ids only) and are idempotent.

A job function commits at most once, at the end of its work: that commit also marks its outbox
row done (workers.tasks), so nothing that should be retried may come after it. A job that commits
nothing (an e-mail) has its row marked done once it returns.

Each area registers its job here with one line; nothing else switches on job kinds.
"""

import importlib

JOBS: dict[str, str] = {
    # kind: "module:function"  (function(payload: dict) -> None)
    "send_email": "services.mail:deliver_outbox_mail",
    "render_notice": "services.notices.issue:issue_notice_job",
}


def resolve(kind: str):
    """Import and return the job function for an outbox kind (KeyError if unknown)."""
    module, _, func = JOBS[kind].partition(":")
    return getattr(importlib.import_module(module), func)


# Kinds a worker runs itself, right after the commit of the job that recorded them, instead of
# handing them to RQ as jobs of their own (docs/decisions/0009-notice-mail-in-the-notice-job.md).
# The row is still committed with the job's work and leased; if this process cannot finish it,
# the relay sends it once the lease has run out.
RUN_IN_PLACE: frozenset[str] = frozenset({"send_email"})

# kind: "module:function" called as function(**payload, error=text, exception=exc) once a row is
# given up ("failed"): the traceback text kept for ops and the last attempt's exception itself.
FAILURE_HOOKS: dict[str, str] = {
    "render_notice": "services.notices.issue:mark_notice_failed",
}


def resolve_failure_hook(kind: str):
    """The failure hook of an outbox kind, or None when there is none (or its module is not there yet)."""
    target = FAILURE_HOOKS.get(kind)
    if target is None:
        return None
    module, _, func = target.partition(":")
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError):
        return None
