"""Jinja's errors in notice templates, as data and told again in the reader's language.

Admins see these messages on the template pages, clerks when a notice failed; Jinja's own wording
("Unexpected end of template. Jinja was looking for the following tags: …") is English and written
for developers. A missing name comes as `MissingValue` (which carries the name); a syntax error has
only Jinja's text, so `syntax_problem` recognises the common kinds there, once, as data
({"problem": "unclosed_block", "block": "if"}) that `syntax_problem_text` words at display time.
Anything else keeps Jinja's text as a fallback.
"""

import re

from flask_babel import gettext as _
from jinja2 import TemplateSyntaxError, UndefinedError, nodes

from services.notices.templates_env import ENV, MissingValue

_INNERMOST = re.compile(r"innermost block that needs to be closed is '([^']+)'")
_UNKNOWN_TAG = re.compile(r"^Encountered unknown tag '([^']+)'")
_NO_FILTER = re.compile(r"^No filter named '([^']+)'")
_NO_TEST = re.compile(r"^No test named '([^']+)'")


def describe_syntax_error(exc: TemplateSyntaxError, filters=(), tests=()) -> str:
    """The "Zeile N: …" message for a template that does not compile (unclosed block, unknown tag/filter)."""
    problem = syntax_problem_text(syntax_problem(exc), filters, tests)
    return _("Zeile %(line)s: %(problem)s", line=exc.lineno, problem=problem)


def describe_undefined(exc: UndefinedError, line: int | None, names=()) -> str:
    """A name or attribute the template uses that the data does not have (`names`: the data's names)."""
    if not isinstance(exc, MissingValue) or exc.name is None:
        problem = exc.message or str(exc)
    elif exc.attribute:
        problem = _("„%(attribute)s“ gibt es bei diesem Wert nicht.", attribute=exc.name)
    else:
        problem = _(
            "„%(name)s“ ist nicht definiert. Verfügbar sind: %(names)s.",
            name=exc.name,
            names=", ".join(sorted(names)),
        )
    if line is None:
        return problem
    return _("Zeile %(line)s: %(problem)s", line=line, problem=problem)


def template_line(exc: BaseException) -> int | None:
    """Line in the admin's template (Jinja rewrites its frames to the file name "<template>")."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def missing_value_path(source: str, line: int | None, name: str) -> str:
    """How the template writes the missing `name` on `line`: "decision.reason" for `{{ decision.reason }}`
    (the data only knows "reason"); `name` itself when no such expression is found there."""
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError:
        return name
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if node.lineno == line and _last_part(node) == name:
            return _dotted(node) or name
    return name


def _last_part(node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem):
        return str(node.arg.value) if isinstance(node.arg, nodes.Const) else None
    return node.name


def _dotted(node) -> str | None:
    """The dotted path ("a.b.c") of a chain of names, attributes and constant keys, else None."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, (nodes.Getattr, nodes.Getitem)) and (part := _last_part(node)) is not None:
        base = _dotted(node.node)
        return f"{base}.{part}" if base is not None else None
    return None


def syntax_problem(exc: TemplateSyntaxError) -> dict:
    """What a syntax error is about, as data for syntax_problem_text (Jinja's text: the only source)."""
    text = exc.message or ""
    block = _INNERMOST.search(text)
    if text.startswith("Unexpected end of template"):
        return {"problem": "unclosed_block", "block": block[1]} if block else {"problem": "unexpected_end"}
    if match := _UNKNOWN_TAG.match(text):
        if block:
            return {"problem": "misplaced_tag", "tag": match[1], "block": block[1]}
        return {"problem": "unknown_tag", "tag": match[1]}
    if match := _NO_FILTER.match(text):
        return {"problem": "unknown_filter", "name": match[1]}
    if match := _NO_TEST.match(text):
        return {"problem": "unknown_test", "name": match[1]}
    return {"problem": "other", "text": text}


def syntax_problem_text(problem: dict, filters=(), tests=()) -> str:
    """A syntax_problem in the current language (`filters`, `tests`: the allowed names to list)."""
    kind = problem.get("problem")
    if kind == "unclosed_block":
        return _(
            "Die Vorlage endet, bevor {%% %(block)s %%} geschlossen wurde: es fehlt {%% end%(block)s %%}.",
            block=problem["block"],
        )
    if kind == "unexpected_end":
        return _("Die Vorlage endet mitten in einem Ausdruck oder Tag.")
    if kind == "misplaced_tag":
        return _(
            "{%% %(tag)s %%} passt hier nicht: zuerst muss {%% %(block)s %%} "
            "mit {%% end%(block)s %%} geschlossen werden.",
            tag=problem["tag"],
            block=problem["block"],
        )
    if kind == "unknown_tag":
        return _("Unbekanntes oder überzähliges Tag {%% %(tag)s %%}.", tag=problem["tag"])
    if kind == "unknown_filter":
        return _(
            "Unbekannter Filter „%(name)s“. Erlaubt sind: %(allowed)s.",
            name=problem["name"],
            allowed=", ".join(sorted(filters)),
        )
    if kind == "unknown_test":
        return _(
            "Unbekannter Test „%(name)s“. Erlaubt sind: %(allowed)s.",
            name=problem["name"],
            allowed=", ".join(sorted(tests)),
        )
    return str(problem.get("text") or "")
