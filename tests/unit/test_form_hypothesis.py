"""Random and hostile input to every field of every seeded form, through the engine (no HTTP).

Properties: building, rendering and extracting never raise anything but PageInvalid; a rejected
page always carries at least one message for the error summary; accepted answers validate again
(what the engine stores, it accepts on the way back).
"""

import pytest
from flask import render_template_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from forms.dynamic import (
    PageInvalid,
    build_page_form,
    compute_values,
    extract_page_answers,
    form_error_pairs,
    format_answers,
    page_action,
    page_item_counts,
    validate_answers,
)
from forms.dynamic.builder import answers_to_formdata
from services.formdefs import load_spec
from services.seed.forms import demo_documents

SPECS = {slug: load_spec(doc) for slug, doc in demo_documents().items()}
PAGES = [(slug, page.key) for slug, spec in SPECS.items() for page in spec.pages]
RENDER = (
    '{% from "macros/dynamic_fields.html" import render_page_fields %}'
    '{{ render_page_fields(form, page, "de") }}'
)

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "x" * 100_000,
            "１２３４５",
            "DE02 1203 0000 0000 2020 51",
            "47051",
            "30,70",
            "29",
            "2",
            "2026",
            "yes",
            "no",
            "-1",
            "1e309",
            "NaN",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\u202e\u200b",
            "😀" * 50,
            "0" * 30,
        ]
    ),
)
hostile_value = st.one_of(
    hostile_text,
    st.integers(),
    st.none(),
    st.binary(max_size=20),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)), max_size=3),
)


def names_of(spec, page):
    """Every input name the page reads (composite parts, group children, counts, actions)."""
    counts = {k: v + 1 for k, v in page_item_counts(page, {}).items()}
    names = list(answers_to_formdata(page, {}, counts).keys())
    names += [f.key for f in page.fields]  # file fields have no prefill entry
    return sorted(set(names))


def formdata_strategy(names):
    entry = st.tuples(st.sampled_from(names), st.lists(hostile_value, min_size=1, max_size=3))
    actions = st.sampled_from(
        [
            None,
            ("add_item", "hunde"),
            ("remove_item", "hunde:0"),
            ("remove_item", "hunde:x"),
            ("remove_file", "nope"),
            ("add_item", "unbekannt"),
        ]
    )
    return st.tuples(st.lists(entry, max_size=len(names) + 3), actions)


def post(spec, page, pairs, action):
    data = MultiDict()
    for name, values in pairs:
        data.setlist(name, values)
    if action:
        data[action[0]] = action[1]
    return data


@pytest.mark.parametrize(("slug", "page_key"), PAGES)
def test_hostile_posts_never_crash_the_engine(app_ctx, slug, page_key):
    spec = SPECS[slug]
    page = spec.page(page_key)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(formdata_strategy(names_of(spec, page)))
    def check(generated):
        formdata = post(spec, page, *generated)
        form = build_page_form(spec, page, {}, "de", formdata=formdata)
        render_template_string(RENDER, form=form, page=page)
        if page_action(formdata) is not None:
            return  # the view re-renders on add/remove buttons
        try:
            answers = extract_page_answers(spec, page, form, {}, store_file=None)
        except PageInvalid as exc:
            assert form_error_pairs(exc.form), "a rejected page must say why"
            render_template_string(RENDER, form=exc.form, page=page)
            return
        assert page_key not in validate_answers(spec, answers)

    check()


@pytest.mark.parametrize(("slug", "page_key"), PAGES)
def test_nul_bytes_everywhere_are_rejected_with_messages(app_ctx, slug, page_key):
    spec = SPECS[slug]
    page = spec.page(page_key)
    if not any(f.required and f.ftype.stores_answer for f in page.fields):
        pytest.skip("page has no required answer")
    formdata = MultiDict(dict.fromkeys(names_of(spec, page), "\x00"))
    formdata.pop("hunde-count", None)
    form = build_page_form(spec, page, {}, "de", formdata=formdata)
    with pytest.raises(PageInvalid) as info:
        extract_page_answers(spec, page, form, {}, store_file=None)
    assert form_error_pairs(info.value.form)


stored_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), hostile_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("slug", sorted(SPECS))
def test_odd_stored_answers_never_crash_prefill_summary_or_fees(app_ctx, slug):
    """Answers from an older form version (or a bad import) may have any shape."""
    spec = SPECS[slug]
    keys = sorted({f.key for page in spec.pages for f in page.fields})

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.dictionaries(st.sampled_from(keys), stored_value, max_size=len(keys)))
    def check(answers):
        for page in spec.pages:
            form = build_page_form(spec, page, answers, "de")
            render_template_string(RENDER, form=form, page=page)
        for fmt in ("html", "text"):
            format_answers(spec, answers, "en", fmt)
        validate_answers(spec, answers)
        fee = compute_values(spec, answers)["fee_cents"]
        assert isinstance(fee, int) and fee >= 0

    check()
