"""Computed values tried on sample answers while a definition is validated.

At run time `compute_values` never fails a submission: a "*_cents" rule without a usable result
(text, true/false, a negative number, an error) counts as 0 and is only logged. So that a typo in
a fee rule cannot make a service free unnoticed, `services.formdefs.validate_definition` refuses
a "*_cents" rule that is a constant other than a number ≥ 0 and tries every computed rule on
sample answer sets built from the fields' types (`FieldType.sample_answers`): no answers, a
typical answer in every field, and each further sample of one field at a time (each option of a
choice, yes and no, the bounds of a number, the fewest and most items of a group, …), with hidden
answers removed as they would be. On each set a "*_cents" rule must give a number ≥ 0 or nothing
(null: e.g. an unanswered field, counted as 0), on at least one set a number; no rule may fail.
"""

import json
from dataclasses import dataclass

from flask_babel import gettext as _

from forms.dynamic import FormSpec, cents_of, computed_data, get_type, prune_hidden
from services.jsonlogic import JsonLogicError, evaluate, referenced_vars

MAX_SAMPLES = 100  # answer sets per document (validation runs on every designer change)


@dataclass(frozen=True)
class Sample:
    answers: dict
    about: tuple | None  # None: no answers; else the parts ("value", field, value) / ("items", group, n)
    # that differ from the typical answers (a varied field hidden by them is shown by a second part)


def sample_answer_sets(doc: dict, rules=()) -> list[Sample]:
    """Answer sets for `doc` (pages of fields whose key, type and options are well-formed).

    Fields the `rules` read are varied first, so that the cap never drops the samples that matter.
    A varied answer that the typical answers hide (a page shown only for another choice) is
    combined with the first sample of another field that shows it.
    """
    fields = [f for page in doc["pages"] for f in page["fields"]]
    samples = {f["key"]: _safe_samples(f) for f in fields}
    samples = {key: found for key, found in samples.items() if found}
    base = {key: found[0][0] for key, found in samples.items()}
    read = {name.split(".")[0] for rule in rules for name in referenced_vars(rule)}
    read |= {name.split(".")[1] for name in read if name.startswith("_count.")}
    order = sorted(samples, key=lambda key: key not in read)
    spec = FormSpec.from_document(doc, cache_key="samples")
    sets = [Sample({}, None), Sample(prune_hidden(spec, base), ())]
    others = [(key, value, about) for key in order for value, about in samples[key][1:]]
    budget = [_MAX_TRIES]
    for key, value, about in others[: MAX_SAMPLES - len(sets)]:
        answers, parts = prune_hidden(spec, {**base, key: value}), (about,)
        if key not in answers:
            answers, shown_by = _shown_with(spec, base, key, value, others, budget)
            parts = (shown_by, about) if shown_by else parts
        sets.append(Sample(answers, parts))
    return sets


_MAX_TRIES = 300  # prune_hidden runs per document spent looking for the answer that shows a sample


def _shown_with(spec, base: dict, key: str, value, others, budget: list) -> tuple[dict, tuple | None]:
    """Answers with `key` = `value` and one other field's sample that shows `key`, if there is one."""
    for other, other_value, about in others:
        if budget[0] <= 0:
            break
        if other != key:
            budget[0] -= 1
            answers = prune_hidden(spec, {**base, other: other_value, key: value})
            if key in answers:
                return answers, about
    return prune_hidden(spec, {**base, key: value}), None


def _safe_samples(field: dict) -> list[tuple]:
    """_field_samples; none for a field whose options are invalid (validate_definition reports them)."""
    try:
        return _field_samples(field)
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
        return []


def _field_samples(field: dict) -> list[tuple]:
    """[(answer, about)] for one field, the typical answer first; a group's items from its children."""
    if not isinstance(field.get("fields"), list):
        values = get_type(field["type"]).sample_answers(field)
        return [(value, ("value", field["key"], value)) for value in values]
    key = field["key"]
    children = {c["key"]: get_type(c["type"]).sample_answers(c) for c in field["fields"]}
    children = {child: found for child, found in children.items() if found}
    item = {child: found[0] for child, found in children.items()}
    low = max(1, field.get("min_items", 1))
    counts = sorted({low, max(low, field.get("max_items", 10))})
    found = [([item] * n, ("items", key, n)) for n in counts]
    for child, values in children.items():
        about = f"{key}.{child}"
        found += [([{**item, child: value}] * low, ("value", about, value)) for value in values[1:]]
    return found


def computed_problem(name: str, rule, samples) -> str | None:
    """Why the computed value `name` would not work (a German message), or None.

    `samples` is a list of Sample or a callable returning one (built only when a rule needs it).
    """
    cents = name.endswith("_cents")
    if not isinstance(rule, dict | list):  # a constant
        if cents and cents_of(rule) is None:
            return _constant_problem(name, rule)
        return None
    numbers = 0
    for sample in samples() if callable(samples) else samples:
        try:
            value = evaluate(rule, computed_data(sample.answers))
        except (JsonLogicError, RecursionError):
            return _("Die Regel für „%(name)s“ lässt sich %(when)s nicht berechnen.",
                     name=name, when=describe(sample))
        if not cents or value is None:
            continue
        if cents_of(value) is None:
            return _result_problem(name, value, sample)
        numbers += 1
    if cents and numbers == 0:
        return _(
            "Die Regel für „%(name)s“ ergibt bei keiner Beispielantwort eine Zahl (etwa wegen einer "
            "Division durch 0 oder eines Textes); der Betrag wäre immer 0 €.",
            name=name,
        )
    return None


def _constant_problem(name: str, rule) -> str:
    if _is_number(rule):
        return _("Der Betrag „%(name)s“ darf nicht negativ sein (%(value)s Cent); er wäre sonst immer 0 €.",
                 name=name, value=_shown(rule))
    return _(
        "Der Betrag „%(name)s“ muss eine Zahl in Cent ab 0 sein (ohne Anführungszeichen); "
        "mit „%(value)s“ wäre er immer 0 €.",
        name=name, value=_shown(rule),
    )


def _result_problem(name: str, value, sample: Sample) -> str:
    if _is_number(value):
        return _(
            "Die Regel für „%(name)s“ ergibt %(when)s einen negativen Betrag (%(value)s Cent); "
            "er wäre dann 0 €.",
            name=name, when=describe(sample), value=_shown(value),
        )
    return _(
        "Die Regel für „%(name)s“ ergibt %(when)s „%(value)s“ statt einer Zahl in Cent; "
        "der Betrag wäre dann 0 €.",
        name=name, when=describe(sample), value=_shown(value),
    )


def describe(sample: Sample) -> str:
    """When a sample applies, for a message: "ohne Antworten", "wenn „art“ den Wert „b“ hat"."""
    if sample.about is None:
        return _("ohne Antworten")
    if not sample.about:
        return _("mit Beispielantworten in allen Feldern")
    return _(" und ").join(_part(part) for part in sample.about)


def _part(part: tuple) -> str:
    kind, field, value = part
    if kind == "items":
        return _("mit %(n)s Einträgen in „%(field)s“", n=value, field=field)
    return _("wenn „%(field)s“ den Wert „%(value)s“ hat", field=field, value=_shown(value))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"
