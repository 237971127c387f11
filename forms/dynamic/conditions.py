"""Visibility conditions (JsonLogic) of pages and fields."""

import logging

from services.jsonlogic import JsonLogicError, evaluate, referenced_vars, truthy

log = logging.getLogger(__name__)


def is_visible(rule, data: dict) -> bool:
    """Whether a condition holds; no condition means visible, a broken rule means hidden."""
    if rule is None:
        return True
    try:
        return truthy(evaluate(rule, data))
    except (JsonLogicError, RecursionError, TypeError, ValueError):
        log.warning("condition could not be evaluated: %r", rule)
        return False


def depends_on(rule, keys: set[str]) -> bool:
    """Whether a rule reads one of `keys` (or any `item.` value of a repeating group)."""
    if rule is None:
        return False
    return any(name.split(".")[0] in keys or name.startswith("item.") for name in referenced_vars(rule))
