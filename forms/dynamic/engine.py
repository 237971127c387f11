"""The form engine's public operations over a FormSpec and a flat answers dict (pure, no DB)."""

import contextlib
import json
import logging
import math
from dataclasses import dataclass, field

from flask_babel import gettext as _
from markupsafe import escape

from forms.dynamic.builder import (
    PageForm,
    answers_to_formdata,
    apply_item_action,
    child_name,
    form_class,
    page_action,
    page_item_counts,
)
from forms.dynamic.conditions import is_visible
from forms.dynamic.registry import CompositeField, FieldError
from forms.dynamic.spec import FieldSpec, FormSpec, PageSpec
from services.jsonlogic import JsonLogicError, evaluate

log = logging.getLogger(__name__)


class PageInvalid(Exception):
    """A page's answers did not validate; `form` carries the errors.

    `answers` holds the previous answers plus the files stored during this post, so a journey can
    keep uploads the citizen need not repeat; `form.answers` is the same dict, so the re-shown
    page lists those files with their remove buttons.
    """

    def __init__(self, form, answers: dict):
        super().__init__("page invalid")
        self.form = form
        self.answers = answers


@dataclass
class Row:
    label: str
    value: object  # Markup for html/pdf, str for text
    field_key: str
    page_key: str


@dataclass
class Section:
    title: str
    page_key: str
    rows: list[Row] = field(default_factory=list)


# --- conditions --------------------------------------------------------------------------------


def visible_pages(spec: FormSpec, answers: dict) -> list[PageSpec]:
    """The pages the citizen has to go through, given the answers so far."""
    return [p for p in spec.pages if is_visible(p.condition, answers)]


def prune_hidden(spec: FormSpec, answers: dict) -> dict:
    """Answers without hidden pages/fields/group children (they are neither validated nor kept)."""
    result = dict(answers)
    for page in spec.pages:
        page_shown = is_visible(page.condition, result)
        for f in page.fields:
            if f.key not in result:
                continue
            if not page_shown or not is_visible(f.condition, result):
                del result[f.key]
            elif f.children and isinstance(result[f.key], list):
                result[f.key] = [
                    _prune_item(f, item, result) for item in result[f.key] if isinstance(item, dict)
                ]
    return result


def _prune_item(group: FieldSpec, item: dict, answers: dict) -> dict:
    kept: dict = {}
    for child in group.children:
        if child.key in item and is_visible(child.condition, {**answers, "item": kept}):
            kept[child.key] = item[child.key]
    return kept


# --- building and extracting -------------------------------------------------------------------


def build_page_form(
    spec: FormSpec, page: PageSpec, answers: dict, locale: str, formdata=None, item_counts=None
):
    """A WTForms form for `page`: prefilled from answers, or bound to posted formdata.

    With formdata, an "add_item"/"remove_item" button is applied here (counts and renumbering),
    so the view only has to re-render when `page_action(formdata)` is not None.
    """
    counts = item_counts if item_counts is not None else page_item_counts(page, answers, formdata)
    if formdata is None:
        formdata = answers_to_formdata(page, answers, counts)
    elif item_counts is None:
        formdata, counts = apply_item_action(page, formdata, counts, page_action(formdata))
    form = form_class(spec, page, counts, locale)(formdata=formdata)
    form.spec, form.page, form.locale, form.answers = spec, page, locale, answers
    for bound in form:
        bound.errors = []
    return form


def extract_page_answers(
    spec: FormSpec, page: PageSpec, form: PageForm, answers: dict, store_file=None
) -> dict:
    """Validate the bound page form; the updated full answers, or PageInvalid with the errors."""
    return prune_hidden(spec, _validated_page(page, form, answers, store_file))


def extract_partial_answers(
    spec: FormSpec, page: PageSpec, form: PageForm, answers: dict, store_file=None
) -> tuple[dict, list[FieldSpec]]:
    """"Save and continue later": the full answers with this page's valid inputs, never PageInvalid.

    An emptied field is cleared even when required (the citizen may fill it in later). A field whose
    input does not validate keeps its previously saved answer and is returned in the list: drafts
    hold only normalised answers (review, conditions, fees and prefill read them by type), and
    nothing saved before is lost (inside a repeating group such an input is dropped, see
    _extract_group). The errors show when the citizen continues with "Weiter".

    What the citizen typed into the skipped inputs is left in `form.unsaved_input`
    ({input name: {posted name: [texts]}}; no texts for a file): kept beside the answers (the
    draft's `unsaved_input`), build_resumed_page_form shows it again with its error.
    """
    skipped: list[tuple[FieldSpec, object]] = []
    answers = prune_hidden(spec, _validated_page(page, form, answers, store_file, skipped))
    form.unsaved_input = {bound.name: _posted_texts(f, bound) for f, bound in skipped}
    return answers, [f for f, _bound in skipped]


UNSAVED_TEXT_LIMIT = 10_000  # characters of one remembered input (a pasted novel is cut)


def _posted_texts(f: FieldSpec, bound) -> dict[str, list[str]]:
    """The posted texts of one input by their names (the parts of a date or an address), as JSON
    can hold them (PostgreSQL's JSONB has no NUL: shown as U+FFFD); files are not kept."""
    if f.ftype.holds_files:
        return {}
    if isinstance(bound, CompositeField):
        data = bound.data if isinstance(bound.data, dict) else {}
        posted = {f"{bound.name}-{part}": [data.get(part)] for part in bound.parts}
    else:
        posted = {bound.name: list(bound.raw_data or ())}
    return {
        name: [v.replace("\x00", "\ufffd")[:UNSAVED_TEXT_LIMIT] for v in values if isinstance(v, str)]
        for name, values in posted.items()
    }


def build_resumed_page_form(spec: FormSpec, page: PageSpec, answers: dict, unsaved: dict, locale: str):
    """The page as "Später fortsetzen" left it: the saved answers, and in each input that was not
    saved (extract_partial_answers' `form.unsaved_input`) what the citizen typed with its error, or,
    where that input is valid now or could not be kept (a file), the note that it was not saved.
    Only those inputs show errors: the rest of the page was saved as it is."""
    counts = page_item_counts(page, answers)
    formdata = answers_to_formdata(page, answers, counts)
    for posted in unsaved.values():
        for name, texts in (posted if isinstance(posted, dict) else {}).items():
            texts = texts if isinstance(texts, list) else []
            formdata.setlist(name, [t for t in texts if isinstance(t, str)])
    form = build_page_form(spec, page, answers, locale, formdata=formdata, item_counts=counts)
    with contextlib.suppress(PageInvalid):  # the errors are on the form's fields
        _validated_page(page, form, answers)
    for bound in form:
        if bound.name not in unsaved:
            bound.errors = []
        elif not bound.errors:
            bound.errors = [_("Ihre letzte Eingabe hier wurde nicht gespeichert, weil sie ungültig war.")]
    return form


def _validated_page(page: PageSpec, form: PageForm, answers: dict, store_file=None, skipped=None) -> dict:
    """extract_page_answers before hidden answers are pruned (validate_answers only needs the errors).

    With a `skipped` list the page is read leniently (extract_partial_answers).
    """
    working, stored = dict(answers), dict(answers)
    failed = False
    for f in page.fields:
        if not f.ftype.stores_answer and not f.children:
            continue
        if not is_visible(f.condition, working):
            working.pop(f.key, None)
            continue
        if f.children:
            value, ok = _extract_group(f, form, working, form.locale, skipped)
        else:
            value, ok = _extract_one(
                f, form, f.key, working, store_file, form.locale, answers.get(f.key), skipped
            )
            if ok and f.ftype.holds_files and value is not None:
                stored[f.key] = value
        failed = failed or not ok
        if value is None:
            working.pop(f.key, None)
        else:
            working[f.key] = value
    if failed:
        form.answers = stored  # the re-shown page lists the files kept from this post (form.files)
        raise PageInvalid(form, stored)
    return working


def _extract_one(f: FieldSpec, form, name, data, store_file, locale, existing, skipped=None, item=None):
    bound = form._fields.get(name)
    if bound is None:
        return None, True
    # answers/item: what is valid so far (earlier pages, earlier fields of this page and item)
    context = {"existing": existing, "store_file": store_file, "path": name, "answers": data,
               "item": item, "form_spec": getattr(form, "spec", None)}
    try:
        return f.ftype.clean(f, bound, locale, context), True
    except FieldError as exc:
        if skipped is not None:
            return _lenient_value(f, bound, existing, skipped), True
        bound.errors = [exc.message]
        return None, False


def _lenient_value(f: FieldSpec, bound, previous, skipped: list):
    """Saving for later: a blank required field stays empty; invalid input keeps the saved answer."""
    if f.ftype.is_blank(f.ftype.raw(bound)):
        return None
    skipped.append((f, bound))
    return previous


def _extract_group(group: FieldSpec, form, working, locale, skipped=None):
    items, ok = [], True
    for i in range(form.item_counts.get(group.key, 0)):
        item: dict = {}
        for child in group.children:
            if not child.ftype.stores_answer or not is_visible(child.condition, {**working, "item": item}):
                continue
            # No saved answer to fall back on: "Entfernen" renumbers the posted items without saving,
            # so saved item i may be another item now. An invalid input in a group is dropped instead.
            value, child_ok = _extract_one(
                child, form, child_name(group.key, i, child.key), working, None, locale, None, skipped, item,
            )
            ok = ok and child_ok
            if value is not None:
                item[child.key] = value
        items.append(item)
    return (items or None), ok


def remove_file_answer(spec: FormSpec, answers: dict, attachment_id: str) -> tuple[dict, dict | None]:
    """Answers without the file `attachment_id` (for a "remove_file" button) and the removed entry."""
    result, removed = dict(answers), None
    for key, value in answers.items():
        if isinstance(value, list) and spec.field(key) is not None and spec.field(key).ftype.holds_files:
            kept = [f for f in value if not (isinstance(f, dict) and f.get("id") == attachment_id)]
            if len(kept) != len(value):
                removed = next(f for f in value if isinstance(f, dict) and f.get("id") == attachment_id)
                if kept:
                    result[key] = kept
                else:
                    del result[key]
    return result, removed


def validate_answers(spec: FormSpec, answers: dict) -> dict[str, list[tuple[str, str]]]:
    """Re-validates stored answers page by page (before submit); {} when everything is valid."""
    from flask_babel import get_locale

    locale = str(get_locale() or "de")
    problems: dict[str, list[tuple[str, str]]] = {}
    for page in visible_pages(spec, answers):
        form = build_page_form(spec, page, answers, locale)
        try:
            _validated_page(page, form, answers)
        except PageInvalid:
            problems[page.key] = [(_dotted(entry.name), message) for entry, message in _entry_errors(form)]
    return problems


def _dotted(name: str) -> str:
    return name.replace("-", ".")


def computed_data(answers: dict) -> dict:
    """What computed rules see: the answers plus `_count` (the items of each list answer)."""
    return {**answers, "_count": {k: len(v) for k, v in answers.items() if isinstance(v, list)}}


def cents_of(value) -> int | None:
    """A "*_cents" result as whole cents; None when it is no number (text, true/false, null) or negative."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    cents = round(value)
    return cents if cents >= 0 else None


def compute_values(spec: FormSpec, answers: dict, service_id: int | None = None) -> dict:
    """Computed values (JsonLogic over the answers); "*_cents" values are whole cents (≥ 0).

    Never fails a submission: a rule that cannot be evaluated gives None, a "*_cents" rule without
    a usable result gives 0. Either is logged as a warning (service, form, rule; not the value, which
    may be an answer) so that operators notice a fee that silently became 0.
    """
    values = {}
    data = computed_data(answers)
    for name, rule in spec.computed.items():
        try:
            value, problem = evaluate(rule, data), None
        except (JsonLogicError, RecursionError) as exc:
            value, problem = None, f"could not be evaluated ({type(exc).__name__})"
        if name.endswith("_cents"):
            cents = cents_of(value)
            if cents is None and problem is None:
                problem = "gave a negative number" if _is_number(value) else f"gave {type(value).__name__}"
            value = 0 if cents is None else cents
        if problem is not None:
            fallback = "counted as 0" if name.endswith("_cents") else "left empty"
            log.warning("computed value %s of service %s (form %s) %s: %s",
                        name, service_id, spec.cache_key, problem, fallback)
        values[name] = value
    return values


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_answers(
    spec: FormSpec, answers: dict, locale: str, fmt: str = "html", file_url=None
) -> list[Section]:
    """Readable answers per visible page (only answered fields), for summaries, PDFs and emails."""
    sections = []
    for page in visible_pages(spec, answers):
        section = Section(page.title(locale), page.key)
        for f in page.fields:
            if f.key in answers and answers[f.key] is not None and f.ftype.stores_answer:
                value = _formatted(f, answers[f.key], locale, fmt, file_url)
                section.rows.append(Row(f.label(locale), value, f.key, page.key))
        if section.rows:
            sections.append(section)
    return sections


def _formatted(f: FieldSpec, value, locale, fmt, file_url):
    try:
        return f.ftype.format(f, value, locale, fmt, file_url=file_url)
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError):
        log.warning("answer %s does not fit its field type %s", f.key, f.type)
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if fmt == "text" else escape(text)


def form_error_pairs(form: PageForm) -> list[tuple[str, str]]:
    """(anchor id, message) for the error summary, in page order; anchors point at an input."""
    pairs = []
    for entry, message in _entry_errors(form):
        if entry.group is not None:  # the summary names the item ("Hund 2: …"); inline it is obvious
            group = form.spec.field(entry.group)
            message = f"{group.ftype.item_label(group, form.locale, entry.index)}: {message}"
        pairs.append((entry.name + entry.spec.ftype.anchor_suffix(entry.spec), message))
    return pairs


def _entry_errors(form: PageForm) -> list[tuple]:
    pairs = []
    for entry in form.entries:
        bound = form.bound(entry)
        if bound is not None and bound.errors:
            pairs.extend((entry, str(message)) for message in bound.errors)
    return pairs
