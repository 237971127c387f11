"""Regular expressions in form definitions: length cap and a catastrophic-backtracking heuristic.

Python's `re` has no timeout, so patterns are vetted when a definition is validated. The check
parses the pattern with the standard library's own parser and rejects, conservatively:

1. a repetition inside a repetition where either is unbounded (or allows more than 20):
   `(a+)+`, `(a*)*`, `([a-z]{1,5})+`, `(x+x+)+y`;
2. an alternation inside a repetition whose alternatives may start with the same character or
   may be empty: `(a|a)*`, `(a|ab)+`, `(\\d|[0-9])*` (the parser merges the last into one set, fine);
3. three or more adjacent unbounded repetitions over overlapping characters: `\\d*\\d*\\d*x`
   (polynomial blow-up).
Answers are also length-capped (≤ 1000 characters) before a pattern runs.
"""

import re
import re._constants as sre
import re._parser as sre_parse
from functools import lru_cache

from flask_babel import gettext as _

MAX_PATTERN_LENGTH = 200
_BIG = 20
_ANY = "any"
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)


@lru_cache(maxsize=256)
def compiled(pattern: str) -> re.Pattern:
    """The compiled pattern (only ever called with patterns that passed `pattern_problem`)."""
    return re.compile(pattern)


def pattern_problem(pattern) -> str | None:
    """Why a pattern is not acceptable, or None."""
    if not isinstance(pattern, str):
        return _("Das Muster muss ein Text sein.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        return _("Das Muster darf höchstens %(n)d Zeichen lang sein.", n=MAX_PATTERN_LENGTH)
    try:
        tree = sre_parse.parse(pattern)
    except re.error as exc:  # its message is English: the position is what helps
        if exc.pos is None:
            return _("Das Muster ist kein gültiger regulärer Ausdruck.")
        return _("Das Muster ist kein gültiger regulärer Ausdruck (Fehler an Stelle %(n)d).", n=exc.pos + 1)
    except (RecursionError, OverflowError):
        return _("Das Muster ist kein gültiger regulärer Ausdruck.")
    return _scan(list(tree), None)


def _is_big(max_count) -> bool:
    return max_count is sre.MAXREPEAT or max_count > _BIG


def _scan(items, outer) -> str | None:
    """Walks a parsed sequence; `outer` is the max count of the enclosing repetition (or None)."""
    problem = _adjacent_repeats(items)
    for op, av in items:
        if op in _REPEATS:
            high = av[1]
            if outer is not None and high > 1 and (_is_big(outer) or _is_big(high)):
                return _("Verschachtelte Wiederholungen im Muster können die Prüfung sehr langsam machen.")
            problem = problem or _scan(list(av[2]), high if high > 1 else outer)
        elif op is sre.SUBPATTERN:
            problem = problem or _scan(list(av[-1]), outer)
        elif op is sre.BRANCH:
            if outer is not None and _is_big(outer) and _overlapping(av[1]):
                return _(
                    "Alternativen in einer Wiederholung überschneiden sich; "
                    "das kann die Prüfung sehr langsam machen."
                )
            for alt in av[1]:
                problem = problem or _scan(list(alt), outer)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            problem = problem or _scan(list(av[1]), outer)
        if problem:
            return problem
    return problem


def _overlapping(alternatives) -> bool:
    seen: list = []
    for alt in alternatives:
        chars = _first_chars(list(alt))
        if chars is None:  # empty alternative
            return True
        if any(_overlap(chars, other) for other in seen):
            return True
        seen.append(chars)
    return False


def _adjacent_repeats(items) -> str | None:
    run, last = 0, None
    for op, av in items:
        if op in _REPEATS and av[1] is sre.MAXREPEAT:
            chars = _first_chars(list(av[2])) or _ANY
            run = run + 1 if last is not None and _overlap(chars, last) else 1
            last = chars
            if run >= 3:
                return _(
                    "Mehrere unbegrenzte Wiederholungen derselben Zeichen hintereinander "
                    "können die Prüfung sehr langsam machen."
                )
        else:
            run, last = 0, None
    return None


def _overlap(a, b) -> bool:
    return a == _ANY or b == _ANY or bool(a & b)


def _first_chars(items):
    """Approximate set of first characters a sequence can match; _ANY when unknown; None if empty."""
    for op, av in items:
        if op is sre.LITERAL:
            return {av}
        if op is sre.IN:
            return _set_chars(av)
        if op in _REPEATS:
            chars = _first_chars(list(av[2]))
            return _ANY if chars is None or av[0] == 0 else chars
        if op is sre.SUBPATTERN:
            return _first_chars(list(av[-1])) or _ANY
        if op is sre.AT:
            continue
        return _ANY
    return None


def _set_chars(av):
    chars: set[int] = set()
    for op, value in av:
        if op is sre.LITERAL:
            chars.add(value)
        elif op is sre.RANGE and value[1] - value[0] <= 300:
            chars.update(range(value[0], value[1] + 1))
        else:
            return _ANY
    return chars
