"""Background work: outbox rows → RQ jobs → idempotent job functions that call services."""
