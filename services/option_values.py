"""Conditions that compare a choice field with something none of its options stores never match.

Answers of choice fields store the option's *value* ("pkw"), the page shows its *label* ("PKW").
A condition written, imported or saved before the condition builder mapped labels to values
(`{"==": [{"var": "fahrzeugart"}, "PKW"]}`) is valid JsonLogic and reads an existing field, yet is
false for every answer: a page never shown, a routing rule that never applies. The form's publish
check and the routing rule editor refuse such comparisons and name the values that would work.
"""

from flask_babel import gettext as _

_EQUALITY = frozenset({"==", "!=", "===", "!=="})


def choice_fields(document: dict) -> dict[str, list[dict]]:
    """{field key: its options} for every field with options (group children included)."""
    from services.designer import iter_fields  # imported late: designer imports formdefs, which uses this

    found = {}
    for _page, field, _group in iter_fields(document):  # skips what a malformed draft has instead
        options = field.get("options")
        if isinstance(field.get("key"), str) and isinstance(options, list):
            valid = [o for o in options if isinstance(o, dict) and "value" in o]
            if valid:
                found[field["key"]] = valid
    return found


def unknown_values(rule, choices: dict[str, list[dict]]) -> list[tuple[str, object, list[dict]]]:
    """[(field key, compared value, the field's options)] for comparisons of a choice field with a
    value none of its options has (==, !=, "in" a list of values, a value "in" a multiple choice)."""
    found = []

    def check(var, value):
        key = _field_key(var)
        options = choices.get(key) if key else None
        if options is None:
            return
        stored = {str(o["value"]) for o in options}  # JsonLogic's == compares "1" and 1 alike
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, (str, int, float)) and not isinstance(one, bool) and str(one) not in stored:
                found.append((key, one, options))

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict) or len(node) != 1:
            return
        (op, args), = node.items()
        if op in _EQUALITY | {"in"} and isinstance(args, list) and len(args) == 2:
            left, right = args
            if op == "in":
                if _is_var(right) and not _is_var(left):  # a value in a multiple choice's answers
                    check(right, left)
                elif _is_var(left) and isinstance(right, list):  # the answer in a list of values
                    check(left, right)
            elif _is_var(left) and not _is_var(right):
                check(left, right)
            elif _is_var(right) and not _is_var(left):
                check(right, left)
        walk(args)

    walk(rule)
    return found


def describe(key: str, value, options: list[dict], locale: str = "de") -> str:
    """Why the comparison never matches, naming the value to use where `value` is an option's label."""
    for option in options:
        label = option.get("label")
        labels = label.values() if isinstance(label, dict) else [label]
        wanted = str(value).strip().casefold()
        if any(isinstance(x, str) and x.strip().casefold() == wanted for x in labels):
            return _(
                "„%(value)s“ ist die Beschriftung einer Option von „%(key)s“; Bedingungen vergleichen mit "
                "ihrem Wert „%(option)s“.",
                value=value, key=key, option=option["value"],
            )
    return _(
        "„%(key)s“ hat keine Option mit dem Wert „%(value)s“; die Bedingung träfe nie zu. Mögliche Werte: "
        "%(values)s.",
        key=key, value=value, values=", ".join(f"„{o['value']}“" for o in options),
    )


def _is_var(node) -> bool:
    return isinstance(node, dict) and set(node) == {"var"}


def _field_key(var) -> str | None:
    name = var["var"]
    if isinstance(name, list):
        name = name[0] if name else None
    if not isinstance(name, str):
        return None
    head, _sep, rest = name.partition(".")
    return rest.split(".")[0] if head == "item" else head
