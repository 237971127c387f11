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
