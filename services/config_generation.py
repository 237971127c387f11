"""The configuration generation: a token that changes whenever the configuration a submission reads changes.

Submitting reads the service's workflow and routing rules. They change rarely, so each process
caches them (services.workflow.start_plan) under the token current when it read them, and checks
the token with the draft's lock query (no extra round trip). Every flush that adds, changes or
deletes a workflow, workflow link, routing rule, service, department or form version sets a new
random token in the same transaction: other transactions see the new configuration and the new token together.
"""

import secrets

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from models import (
    ConfigGeneration,
    Department,
    FormVersion,
    RoutingRule,
    Service,
    ServiceWorkflow,
    WorkflowDefinition,
    WorkflowVersion,
)
from models.base import upsert_insert

WATCHED = (
    Department, FormVersion, RoutingRule, Service, ServiceWorkflow, WorkflowDefinition, WorkflowVersion
)
ROW_ID = 1


def token_column():
    """Scalar subquery of the current token (NULL while no configuration change was ever recorded)."""
    return (
        select(ConfigGeneration.token)
        .where(ConfigGeneration.id == ROW_ID)
        .scalar_subquery()
        .label("config_token")
    )


@event.listens_for(Session, "after_flush")  # registered on import (the app factory imports this module)
def _after_flush(session, _context) -> None:
    changed = (session.new, session.dirty, session.deleted)
    if any(isinstance(obj, WATCHED) for objects in changed for obj in objects):
        renew(session.connection())


def renew(connection) -> str:
    """Set a fresh token (inserting the row the first time) inside the connection's transaction."""
    token = secrets.token_hex(16)
    table = ConfigGeneration.__table__
    result = connection.execute(update(table).where(table.c.id == ROW_ID).values(token=token))
    if result.rowcount == 0:  # the first change ever; ON CONFLICT: two first changes at once both succeed
        stmt = upsert_insert(connection.dialect.name, table).values(id=ROW_ID, token=token)
        connection.execute(stmt.on_conflict_do_update(index_elements=[table.c.id], set_={"token": token}))
    return token
