"""A small, safe JsonLogic evaluator for the subset documented in docs/form-definitions.md.

Rules are data written by department admins, so the evaluator never calls into Python objects,
never loops unboundedly and rejects unknown operators when a definition is validated
(`check_rule`). At run time bad operand types yield None/False instead of exceptions, so a
condition over unexpected answers hides a field rather than crashing a page.
"""

import itertools
import math
from numbers import Number

from flask_babel import gettext as _

MAX_DEPTH = 32  # nesting of operators
MAX_NODES = 1000  # operators + literals in one rule
MAX_STRING = 10_000  # longest string `cat` may build

OPERATORS = frozenset(
    {
        "var", "==", "!=", "===", "!==", "<", "<=", ">", ">=", "!", "!!", "and", "or", "if",
        "in", "+", "-", "*", "/", "min", "max", "cat", "missing", "some", "all", "none",
    }
)  # fmt: skip


class JsonLogicError(ValueError):
    """A rule is malformed or uses an operator outside the supported subset."""


# --- definition time ---------------------------------------------------------------------------


def check_rule(rule) -> list[tuple[str, str]]:
    """Structural problems of a rule as (relative path, reason); [] when the rule is usable."""
    errors: list[tuple[str, str]] = []
    count = [0]
    _check(rule, "", 0, count, errors)
    if count[0] > MAX_NODES:
        errors.append(("", _("Die Bedingung ist zu groß (höchstens %(max)d Bausteine).", max=MAX_NODES)))
    return errors


def _check(rule, path, depth, count, errors):
    count[0] += 1
    if depth > MAX_DEPTH:
        errors.append((path, _too_deep()))
        return
    if isinstance(rule, list):
        for i, item in enumerate(rule):
            _check(item, f"{path}[{i}]", depth + 1, count, errors)
        return
    if not isinstance(rule, dict):
        return
    if len(rule) != 1:
        errors.append((path, _not_one_operator()))
        return
    op, args = next(iter(rule.items()))
    if op not in OPERATORS:
        errors.append((path, _unknown_operator(op)))
        return
    if op == "var":
        _check_var(args, path, errors)
        return
    if op in ("some", "all", "none") and not (isinstance(args, list) and len(args) == 2):
        errors.append((f"{path}.{op}", _("„%(op)s“ erwartet eine Liste und eine Bedingung.", op=op)))
        return
    _check(args, f"{path}.{op}", depth + 1, count, errors)


def _check_var(args, path, errors):
    name = args[0] if isinstance(args, list) and args else args
    if isinstance(args, list) and len(args) > 2:
        errors.append((f"{path}.var", _("„var“ erwartet einen Feldnamen und höchstens einen Ersatzwert.")))
    if not isinstance(name, str | int) or isinstance(name, bool):
        errors.append((f"{path}.var", _("Der Feldname bei „var“ muss ein Text sein.")))


# Messages for department admins (rule editors, routing tester); shared by check and evaluation.
def _too_deep() -> str:
    return _("Die Bedingung ist zu tief verschachtelt (höchstens %(max)d Ebenen).", max=MAX_DEPTH)


def _not_one_operator() -> str:
    return _("Jeder Baustein der Bedingung braucht genau einen Operator.")


def _unknown_operator(op) -> str:
    return _("Unbekannter Operator „%(op)s“.", op=op)


def referenced_vars(rule) -> set[str]:
    """Every variable name a rule reads (names inside some/all/none predicates excluded)."""
    found: set[str] = set()
    _collect_vars(rule, found)
    return found


def _collect_vars(rule, found):
    if isinstance(rule, list):
        for item in rule:
            _collect_vars(item, found)
    elif isinstance(rule, dict) and len(rule) == 1:
        op, args = next(iter(rule.items()))
        if op == "var":
            name = args[0] if isinstance(args, list) and args else args
            if isinstance(name, str) and name:
                found.add(name)
        elif op in ("some", "all", "none") and isinstance(args, list) and args:
            _collect_vars(args[0], found)
        else:
            _collect_vars(args, found)


# --- run time ----------------------------------------------------------------------------------


def evaluate(rule, data):
    """Apply `rule` to `data` (a dict of answers). Raises JsonLogicError only for malformed rules."""
    return _eval(rule, data, 0)


def truthy(value) -> bool:
    """JsonLogic truthiness: empty arrays are false, like 0, "", null and false."""
    if isinstance(value, list):
        return bool(value)
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def _eval(rule, data, depth):
    if depth > MAX_DEPTH:
        raise JsonLogicError(_too_deep())
    if isinstance(rule, list):
        return [_eval(item, data, depth + 1) for item in rule]
    if not isinstance(rule, dict):
        return rule
    if len(rule) != 1:
        raise JsonLogicError(_not_one_operator())
    op, args = next(iter(rule.items()))
    if op in _LAZY:
        return _LAZY[op](_as_list(args), data, depth + 1)
    fn = _EAGER.get(op)
    if fn is None:
        raise JsonLogicError(_unknown_operator(op))
    values = [_eval(a, data, depth + 1) for a in _as_list(args)]
    return fn(values, data)


def _as_list(args):
    return args if isinstance(args, list) else [args]


def resolve_var(data, name, default=None):
    """Look up a dotted path ("item.breed", "dogs.0.name") in dicts and lists."""
    if name in ("", None):
        return data
    current = data
    for part in str(name).split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return default if current is None else current


def _op_var(args, data, depth):
    name = _eval(args[0], data, depth) if args else ""
    default = _eval(args[1], data, depth) if len(args) > 1 else None
    if isinstance(name, bool) or not isinstance(name, str | int | type(None)):
        return default
    return resolve_var(data, name, default)


def _op_and(args, data, depth):
    value = None
    for arg in args:
        value = _eval(arg, data, depth)
        if not truthy(value):
            return value
    return value


def _op_or(args, data, depth):
    value = None
    for arg in args:
        value = _eval(arg, data, depth)
        if truthy(value):
            return value
    return value


def _op_if(args, data, depth):
    for i in range(0, len(args) - 1, 2):
        if truthy(_eval(args[i], data, depth)):
            return _eval(args[i + 1], data, depth)
    return _eval(args[-1], data, depth) if len(args) % 2 else None


def _iterate(args, data, depth):
    items = _eval(args[0], data, depth) if args else []
    predicate = args[1] if len(args) > 1 else None
    if not isinstance(items, list):
        return []
    return [truthy(_eval(predicate, item, depth)) for item in items]


_LAZY = {
    "var": _op_var,
    "and": _op_and,
    "or": _op_or,
    "if": _op_if,
    "some": lambda a, d, n: any(_iterate(a, d, n)),
    "all": lambda a, d, n: (lambda r: bool(r) and all(r))(_iterate(a, d, n)),
    "none": lambda a, d, n: not any(_iterate(a, d, n)),
}


def to_number(value):
    """JsonLogic numeric coercion; None when the value is not a number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Number):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and 0 < len(value) <= 50:
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        integral = number.is_integer() and "." not in value and "e" not in value.lower()
        return int(number) if integral else number
    return None


def _loose_eq(a, b):
    if a is None or b is None:
        return a is None and b is None
    if type(a) is type(b) or (isinstance(a, str) and isinstance(b, str)):
        return a == b
    na, nb = to_number(a), to_number(b)
    return na is not None and nb is not None and na == nb


def _strict_eq(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Number) and isinstance(b, Number):
        return a == b
    return type(a) is type(b) and a == b


def _compare(values, check):
    if len(values) < 2:
        return False
    if all(isinstance(v, str) for v in values) and any(to_number(v) is None for v in values):
        operands = values  # e.g. ISO dates ("2026-01-31") compare as text
    else:
        operands = [to_number(v) for v in values]
        if any(o is None for o in operands):
            return False
    return all(check(x, y) for x, y in itertools.pairwise(operands))


def _op_in(values, _data):
    if len(values) < 2:
        return False
    needle, haystack = values[0], values[1]
    if isinstance(haystack, str):
        scalar = isinstance(needle, str | int | float) and not isinstance(needle, bool)
        return scalar and _js_str(needle) in haystack
    if isinstance(haystack, list):
        return any(_strict_eq(needle, item) for item in haystack)
    return False


def _numbers(values):
    numbers = [to_number(v) for v in values]
    return None if any(n is None for n in numbers) else numbers


def _op_plus(values, _data):
    numbers = _numbers(values)
    return None if numbers is None else _bounded(sum(numbers))


def _op_minus(values, _data):
    numbers = _numbers(values)
    if not numbers:
        return None
    return _bounded(-numbers[0] if len(numbers) == 1 else numbers[0] - numbers[1])


def _op_times(values, _data):
    numbers = _numbers(values)
    if not numbers:
        return None
    result = 1
    for n in numbers:
        result = _bounded(result * n)
        if result is None:
            return None
    return result


def _op_divide(values, _data):
    numbers = _numbers(values)
    if not numbers or len(numbers) != 2 or numbers[1] == 0:
        return None
    return _bounded(numbers[0] / numbers[1])


def _bounded(number):
    """Keeps arithmetic inside float range so big answers cannot build huge integers."""
    if number is None or abs(number) > 1e15:
        return None
    return number


def _op_min_max(pick):
    def op(values, _data):
        numbers = _numbers(values)
        return pick(numbers) if numbers else None

    return op


def _op_cat(values, _data):
    text = "".join("" if v is None else _js_str(v) for v in values)
    return text[:MAX_STRING]


def _js_str(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(_js_str(v) for v in value)
    return str(value)


def _op_missing(values, data):
    names = values[0] if len(values) == 1 and isinstance(values[0], list) else values
    return [n for n in names if isinstance(n, str | int) and resolve_var(data, n) in (None, "", [])]


_EAGER = {
    "==": lambda v, d: len(v) >= 2 and _loose_eq(v[0], v[1]),
    "!=": lambda v, d: not (len(v) >= 2 and _loose_eq(v[0], v[1])),
    "===": lambda v, d: len(v) >= 2 and _strict_eq(v[0], v[1]),
    "!==": lambda v, d: not (len(v) >= 2 and _strict_eq(v[0], v[1])),
    "<": lambda v, d: _compare(v, lambda x, y: x < y),
    "<=": lambda v, d: _compare(v, lambda x, y: x <= y),
    ">": lambda v, d: _compare(v[:2], lambda x, y: x > y),
    ">=": lambda v, d: _compare(v[:2], lambda x, y: x >= y),
    "!": lambda v, d: not truthy(v[0] if v else None),
    "!!": lambda v, d: truthy(v[0] if v else None),
    "in": _op_in,
    "+": _op_plus,
    "-": _op_minus,
    "*": _op_times,
    "/": _op_divide,
    "min": _op_min_max(min),
    "max": _op_min_max(max),
    "cat": _op_cat,
    "missing": _op_missing,
}
