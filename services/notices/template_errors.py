"""Jinja's English error texts for notice templates, told again in the admin's language.

Admins see these messages on the template pages; Jinja's own wording ("Unexpected end of
template. Jinja was looking for the following tags: …") is English and written for developers.
The common kinds are recognised by their text and reworded with the line and the name involved;
anything else keeps Jinja's text as a fallback.
"""

import re

from flask_babel import gettext as _
from jinja2 import TemplateSyntaxError, UndefinedError

_INNERMOST = re.compile(r"innermost block that needs to be closed is '([^']+)'")
_UNKNOWN_TAG = re.compile(r"^Encountered unknown tag '([^']+)'")
_NO_FILTER = re.compile(r"^No filter named '([^']+)'")
_NO_TEST = re.compile(r"^No test named '([^']+)'")
_IS_UNDEFINED = re.compile(r"^'([^']+)' is undefined")
_NO_ATTRIBUTE = re.compile(r"^'([^']+)' has no attribute '([^']+)'")


def describe_syntax_error(exc: TemplateSyntaxError, filters=(), tests=()) -> str:
    """The "Zeile N: …" message for a template that does not compile (unclosed block, unknown tag/filter)."""
    text = exc.message or ""
    return _("Zeile %(line)s: %(problem)s", line=exc.lineno, problem=_syntax_problem(text, filters, tests))


def describe_undefined(exc: UndefinedError, line: int | None, names=()) -> str:
    """A name or attribute the template uses that the data does not have (`names`: the data's names)."""
    text = exc.message or str(exc)
    if match := _IS_UNDEFINED.match(text):
        problem = _(
            "„%(name)s“ ist nicht definiert. Verfügbar sind: %(names)s.",
            name=match[1],
            names=", ".join(sorted(names)),
        )
    elif match := _NO_ATTRIBUTE.match(text):
        problem = _("„%(attribute)s“ gibt es bei diesem Wert nicht.", attribute=match[2])
    else:
        problem = text
    if line is None:
        return problem
    return _("Zeile %(line)s: %(problem)s", line=line, problem=problem)


def _syntax_problem(text: str, filters, tests) -> str:
    block = _INNERMOST.search(text)
    if text.startswith("Unexpected end of template"):
        if block:
            return _(
                "Die Vorlage endet, bevor {%% %(block)s %%} geschlossen wurde: "
                "es fehlt {%% end%(block)s %%}.",
                block=block[1],
            )
        return _("Die Vorlage endet mitten in einem Ausdruck oder Tag.")
    if match := _UNKNOWN_TAG.match(text):
        if block:
            return _(
                "{%% %(tag)s %%} passt hier nicht: zuerst muss {%% %(block)s %%} "
                "mit {%% end%(block)s %%} geschlossen werden.",
                tag=match[1],
                block=block[1],
            )
        return _("Unbekanntes oder überzähliges Tag {%% %(tag)s %%}.", tag=match[1])
    if match := _NO_FILTER.match(text):
        return _(
            "Unbekannter Filter „%(name)s“. Erlaubt sind: %(allowed)s.",
            name=match[1],
            allowed=", ".join(sorted(filters)),
        )
    if match := _NO_TEST.match(text):
        return _(
            "Unbekannter Test „%(name)s“. Erlaubt sind: %(allowed)s.",
            name=match[1],
            allowed=", ".join(sorted(tests)),
        )
    return text
