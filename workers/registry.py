"""Outbox kind → job function. Job functions take the outbox payload (ids only) and are idempotent.

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


# kind: "module:function" called as function(**payload, error=text) once a row is given up ("failed").
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
