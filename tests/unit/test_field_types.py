"""Every field type of the registry: valid and invalid input, normalisation, prefill, formatting."""

import io
import logging
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from flask import render_template_string
from markupsafe import Markup
from werkzeug.datastructures import FileStorage, MultiDict

from forms.dynamic import (
    PageInvalid,
    build_page_form,
    compute_values,
    extract_page_answers,
    extract_partial_answers,
    form_error_pairs,
    format_answers,
    get_type,
    type_names,
    validate_answers,
    visible_pages,
)
from forms.dynamic.types.dates import today
from services.errors import UploadRejected
from services.formdefs import load_spec


def L(text):
    return {"de": text, "en": f"{text} (en)"}


def field(key="x", type_="text", required=True, **extra):
    return {"key": key, "type": type_, "label": L("Feld"), "required": required, **extra}


def make_spec(*fields):
    return load_spec(
        {
            "schema_version": 1,
            "title": L("T"),
            "pages": [{"key": "p", "title": L("P"), "fields": list(fields)}],
        }
    )


def submit(spec, data, answers=None, store_file=None):
    """(answers, errors) after posting `data` to the only page."""
    page = spec.pages[0]
    form = build_page_form(spec, page, answers or {}, "de", formdata=MultiDict(data))
    try:
        return extract_page_answers(spec, page, form, answers or {}, store_file), []
    except PageInvalid as exc:
        return None, form_error_pairs(exc.form)


def value_of(field_doc, data):
    answers, errors = submit(make_spec(field_doc), data)
    assert errors == []
    return answers.get(field_doc["key"])


def error_of(field_doc, data):
    answers, errors = submit(make_spec(field_doc), data)
    assert answers is None, answers
    return errors[0][1]


def text(spec_field, value, locale="de", fmt="text"):
    spec = make_spec(spec_field)
    rows = format_answers(spec, {spec_field["key"]: value}, locale, fmt)[0].rows
    return rows[0].value


pytestmark = pytest.mark.usefixtures("app_ctx")
RENDER = (
    '{% from "macros/dynamic_fields.html" import render_page_fields %}'
    '{{ render_page_fields(form, page, "de") }}'
)


def test_registry_lists_every_documented_type():
    assert set(type_names()) == {
        "text",
        "textarea",
        "integer",
        "decimal",
        "money",
        "date",
        "email",
        "phone",
        "postcode",
        "iban",
        "choice",
        "multichoice",
        "yesno",
        "file",
        "address",
        "info",
        "group",
    }


# --- text, textarea -----------------------------------------------------------------------------


def test_text_normalises_whitespace_and_checks_length_and_pattern():
    f = field(max_length=10, pattern="[A-Z]{2}[0-9]+", pattern_message=L("Zwei Buchstaben, dann Ziffern"))
    assert value_of(f, {"x": "  AB12 "}) == "AB12"
    assert error_of(f, {"x": "ab12"}) == "Zwei Buchstaben, dann Ziffern"
    assert error_of(f, {"x": "AB123456789"}) == "Geben Sie höchstens 10 Zeichen ein."
    assert error_of(f, {"x": "  "}) == "Füllen Sie das Feld „Feld“ aus."
    assert error_of(field(), {"x": "a\x00b"}) == "Die Eingabe enthält unzulässige Steuerzeichen."
    assert value_of(field(required=False), {"x": ""}) is None


def test_text_formats_escaped_html():
    assert text(field(), "<b>", fmt="html") == Markup("&lt;b&gt;")


def test_textarea_keeps_lines_and_formats_with_breaks():
    f = field(type_="textarea", min_length=3)
    assert value_of(f, {"x": "Zeile 1\r\nZeile 2 "}) == "Zeile 1\r\nZeile 2"
    assert error_of(f, {"x": "ab"}) == "Geben Sie mindestens 3 Zeichen ein."
    assert text(f, "a\n<b>", fmt="html") == Markup("a<br>&lt;b&gt;")


# --- numbers ------------------------------------------------------------------------------------


def test_integer_accepts_grouping_and_checks_range():
    f = field(type_="integer", min=1, max=5000, unit="m²")
    assert value_of(f, {"x": "1.200"}) == 1200
    assert value_of(f, {"x": " 7 "}) == 7
    assert error_of(f, {"x": "1,5"}) == "Geben Sie eine ganze Zahl ein, zum Beispiel 12."
    assert error_of(f, {"x": "0"}) == "Der Wert muss mindestens 1 sein."
    assert error_of(f, {"x": "5001"}) == "Der Wert darf höchstens 5000 sein."
    assert text(f, 1200) == "1.200 m²"
    assert text(f, 1200, locale="en") == "1,200 m²"


def test_decimal_stores_text_with_fixed_places():
    f = field(type_="decimal", decimal_places=2, min=0.5, unit="m²")
    assert value_of(f, {"x": "12,5"}) == "12.50"
    assert value_of(f, {"x": "3.25"}) == "3.25"
    assert error_of(f, {"x": "1,234"}) == "Geben Sie höchstens 2 Nachkommastellen an."
    assert error_of(f, {"x": "zwölf"}) == "Geben Sie eine Zahl ein, zum Beispiel 12,5."
    assert error_of(f, {"x": "0,1"}) == "Der Wert muss mindestens 0.5 sein."
    assert text(f, "12.50") == "12,5 m²"


@pytest.mark.parametrize(
    ("entered", "cents"),
    [
        ("30,70", 3070),
        ("30.70", 3070),
        ("30", 3000),
        ("30,7", 3070),
        ("1.234,56", 123456),
        ("1,234.56", 123456),
        ("12 €", 1200),
        ("0,05", 5),
    ],
)
def test_money_accepts_german_and_english_notation(entered, cents):
    assert value_of(field(type_="money"), {"x": entered}) == cents


def test_money_rejects_and_formats():
    f = field(type_="money", max_cents=100000)
    assert error_of(f, {"x": "30,701"}) == "Geben Sie einen Betrag in Euro ein, zum Beispiel 30,70."
    assert error_of(f, {"x": "-5"}) == "Geben Sie einen Betrag in Euro ein, zum Beispiel 30,70."
    assert error_of(f, {"x": "1001"}) == "Der Wert darf höchstens 1.000,00\xa0€ sein."
    assert text(f, 3070) == "30,70\xa0€"
    assert text(f, 3070, locale="en") == "€30.70"
    assert get_type("money").to_formdata(None, 3005) == {"": "30,05"}


# --- date ---------------------------------------------------------------------------------------


def test_date_three_inputs_normalise_to_iso():
    f = field(type_="date")
    assert value_of(f, {"x-day": "7", "x-month": "03", "x-year": "2026"}) == "2026-03-07"
    assert (
        error_of(f, {"x-day": "31", "x-month": "2", "x-year": "1990"})
        == "Dieses Datum gibt es nicht. Prüfen Sie Tag und Monat."
    )
    assert (
        error_of(f, {"x-day": "1", "x-month": "13", "x-year": "2026"})
        == "Dieses Datum gibt es nicht. Prüfen Sie Tag und Monat."
    )
    assert (
        error_of(f, {"x-day": "123", "x-month": "2", "x-year": "2026"})
        == "Geben Sie ein Datum im Format TT.MM.JJJJ ein."
    )
    assert (
        error_of(f, {"x-day": "1", "x-month": "2", "x-year": "26"})
        == "Geben Sie ein Datum im Format TT.MM.JJJJ ein."
    )
    assert (
        error_of(f, {"x-day": "1", "x-month": "", "x-year": "2026"})
        == "Das Datum muss einen Monat enthalten."
    )
    assert error_of(f, {}) == "Geben Sie das Datum für „Feld“ ein."


def test_date_relative_bounds():
    past = today() - timedelta(days=1)
    parts = {"x-day": str(past.day), "x-month": str(past.month), "x-year": str(past.year)}
    assert (
        error_of(field(type_="date", min="today"), parts)
        == "Das Datum darf nicht in der Vergangenheit liegen."
    )
    assert value_of(field(type_="date", max="today"), parts) == past.isoformat()
    message = error_of(field(type_="date", min="2030-01-01"), parts)
    assert message == "Das Datum muss am oder nach dem 01.01.2030 liegen."


def test_date_example_hint_satisfies_the_bounds():
    """Without a help text the hint is an example the field accepts, never a date in the past
    for "today or later"; English in the order of the inputs (Day, Month, Year)."""
    later, spec = today() + timedelta(days=3), make_spec(field("ab", "date", min="today+3"))
    html = render_template_string(
        RENDER, form=build_page_form(spec, spec.pages[0], {}, "de"), page=spec.pages[0]
    )
    assert f"Zum Beispiel: {later:%d.%m.%Y}" in html
    date_type = get_type("date")
    assert date_type.example_hint(make_spec(field(type_="date", max="1999-12-31")).field("x"), "en") == (
        "Zum Beispiel: 31 12 1999"  # the English text comes from the catalog
    )
    assert date_type.example_hint(make_spec(field(type_="date", min="today-90")).field("x"), "de") == (
        f"Zum Beispiel: {today():%d.%m.%Y}"
    )


def _date_parts(key, iso):
    year, month, day = iso.split("-")
    return {f"{key}-day": day, f"{key}-month": month, f"{key}-year": year}


def test_date_bound_naming_an_earlier_field_compares_both_answers():
    von = field("von", "date")
    von["label"] = {"de": "Nutzung ab", "en": "Use from"}
    spec = make_spec(von, field("bis", "date", min="von"))
    answers, errors = submit(spec, {**_date_parts("von", "2026-12-24"), **_date_parts("bis", "2026-12-09")})
    assert answers is None
    assert errors == [("bis-day", "Das Datum darf nicht vor dem Datum bei „Nutzung ab“ (24.12.2026) liegen.")]
    same_day = {**_date_parts("von", "2026-12-24"), **_date_parts("bis", "2026-12-24")}
    assert submit(spec, same_day)[0] == {"von": "2026-12-24", "bis": "2026-12-24"}


def test_date_bound_with_offset_and_max_and_missing_other_answer():
    spec = make_spec(field("von", "date", required=False), field("bis", "date", min="von+1", max="von+30"))
    assert submit(spec, _date_parts("bis", "2026-01-01"))[0] == {"bis": "2026-01-01"}  # nothing to compare
    too_soon = {**_date_parts("von", "2026-03-01"), **_date_parts("bis", "2026-03-01")}
    assert submit(spec, too_soon)[1][0][1] == (
        "Das Datum muss am oder nach dem 02.03.2026 liegen (abhängig vom Datum bei „Feld“)."
    )
    too_late = {**_date_parts("von", "2026-03-01"), **_date_parts("bis", "2026-04-01")}
    assert "am oder vor dem 31.03.2026" in submit(spec, too_late)[1][0][1]


def test_date_bound_inside_a_group_compares_within_each_item():
    children = [field("wurf", "date"), field("seit", "date", min="wurf")]
    spec = make_spec(field("hunde", "group", fields=children, max_items=3))
    data = {
        "hunde-count": "2",
        **_date_parts("hunde-0-wurf", "2020-04-01"),
        **_date_parts("hunde-0-seit", "2021-01-01"),
        **_date_parts("hunde-1-wurf", "2022-05-05"),
        **_date_parts("hunde-1-seit", "2021-01-01"),  # before this dog's birth, after the first one's
    }
    answers, errors = submit(spec, data)
    assert answers is None
    assert errors == [
        ("hunde-1-seit-day", "Feld 2: Das Datum darf nicht vor dem Datum bei „Feld“ (05.05.2022) liegen.")
    ]


def test_date_bound_naming_a_field_is_checked_again_before_submit():
    spec = make_spec(field("von", "date"), field("bis", "date", min="von"))
    problems = validate_answers(spec, {"von": "2026-12-24", "bis": "2026-12-09"})
    assert [path for path, _message in problems["p"]] == ["bis"]


def test_date_formats_per_locale_and_prefills_parts():
    assert text(field(type_="date"), "2026-03-07") == "07.03.2026"
    assert text(field(type_="date"), "2026-03-07", locale="en") == "7 March 2026"
    assert get_type("date").to_formdata(None, "2026-03-07") == {"-day": "7", "-month": "3", "-year": "2026"}


# --- email, phone, postcode, IBAN ---------------------------------------------------------------


def test_email():
    f = field(type_="email")
    assert value_of(f, {"x": " Anna.Muster@Example.DE "}) == "Anna.Muster@example.de"
    for bad in ("anna", "anna@", "anna@example", "a b@example.de", "a@b@c.de"):
        assert error_of(f, {"x": bad}).startswith("Geben Sie eine gültige E-Mail-Adresse ein")


def test_phone():
    f = field(type_="phone")
    assert value_of(f, {"x": "0203  283-0"}) == "0203 283-0"
    assert value_of(f, {"x": "+49 (203) 123456"}) == "+49 (203) 123456"
    for bad in ("12", "0203 abc", "+" + "1" * 25):
        assert error_of(f, {"x": bad}).startswith("Geben Sie eine gültige Telefonnummer ein")


def test_postcode_with_area_prefixes():
    f = field(type_="postcode", prefixes=["470", "471", "472"], prefix_message=L("Nur Duisburg"))
    assert value_of(f, {"x": "47051"}) == "47051"
    assert error_of(f, {"x": "4705"}) == "Geben Sie eine gültige Postleitzahl mit 5 Ziffern ein."
    assert error_of(f, {"x": "１２３４５"}) == "Geben Sie eine gültige Postleitzahl mit 5 Ziffern ein."
    assert error_of(f, {"x": "10115"}) == "Nur Duisburg"


def test_iban_checksum_and_grouped_format():
    f = field(type_="iban")
    assert value_of(f, {"x": "de02 1203 0000 0000 2020 51"}) == "DE02120300000000202051"
    assert error_of(f, {"x": "DE02120300000000202052"}) == "Geben Sie eine gültige IBAN ein."
    assert error_of(f, {"x": "kein iban"}) == "Geben Sie eine gültige IBAN ein."
    assert error_of(field(type_="iban", countries=["DE"]), {"x": "AT611904300234573201"}).startswith(
        "IBANs aus"
    )
    assert text(f, "DE02120300000000202051") == "DE02 1203 0000 0000 2020 51"


# --- choices ------------------------------------------------------------------------------------

OPTIONS = [
    {"value": "a", "label": L("Apfel")},
    {"value": "b", "label": L("Birne")},
    {"value": "c", "label": L("Kiwi")},
]


def test_single_choice_radios_and_select():
    f = field(type_="choice", options=OPTIONS)
    assert value_of(f, {"x": "b"}) == "b"
    assert error_of(f, {"x": "z"}) == "Wählen Sie eine der angebotenen Antworten aus."
    assert error_of(f, {}) == "Wählen Sie eine Antwort für „Feld“ aus."
    assert text(f, "b") == "Birne"
    assert text(f, "b", locale="en") == "Birne (en)"
    assert submit(make_spec(f), {})[1][0][0] == "x-0"  # error summary links to the first radio
    select = field(type_="choice", widget="select", options=OPTIONS)
    assert submit(make_spec(select), {"x": ""})[1][0][0] == "x"


def test_multiple_choice_keeps_definition_order_and_limits():
    f = field(type_="multichoice", options=OPTIONS, max_selected=2)
    assert value_of(f, [("x", "c"), ("x", "a"), ("x", "a")]) == ["a", "c"]
    assert error_of(f, [("x", "a"), ("x", "b"), ("x", "c")]) == "Wählen Sie höchstens 2 Antworten aus."
    assert error_of(f, [("x", "zz")]) == "Wählen Sie nur Antworten aus der Liste aus."
    assert text(f, ["a", "c"]) == "Apfel, Kiwi"
    assert "<li>Kiwi</li>" in text(f, ["a", "c"], fmt="html")


def test_yes_no_is_stored_as_bool():
    f = field(type_="yesno")
    assert value_of(f, {"x": "yes"}) is True
    assert value_of(f, {"x": "no"}) is False
    assert error_of(f, {"x": "vielleicht"}) == "Wählen Sie „Ja“ oder „Nein“ aus."
    assert text(f, False) == "Nein"


# --- address, info ------------------------------------------------------------------------------


def test_address_parts_and_postcode():
    f = field(type_="address", postcode_prefixes=["47"])
    good = {"x-street": " Sonnenwall ", "x-number": "73", "x-postcode": "47051", "x-city": "Duisburg"}
    assert value_of(f, good) == {
        "street": "Sonnenwall",
        "number": "73",
        "postcode": "47051",
        "city": "Duisburg",
    }
    assert error_of(f, {**good, "x-number": ""}) == "Geben Sie „Hausnummer“ der Adresse ein."
    assert (
        error_of(f, {**good, "x-postcode": "4705"})
        == "Geben Sie eine gültige Postleitzahl mit 5 Ziffern ein."
    )
    assert (
        error_of(f, {**good, "x-postcode": "10115"})
        == "Diese Postleitzahl liegt nicht im Zuständigkeitsbereich."
    )
    stored = value_of(f, good)
    assert text(f, stored) == "Sonnenwall 73, 47051 Duisburg"
    assert text(f, stored, fmt="html") == Markup("Sonnenwall 73<br>47051 Duisburg")
    assert submit(make_spec(f), {})[1][0][0] == "x-street"


def test_info_text_stores_nothing():
    spec = make_spec(field("hinweis", "info", required=False, text=L("Bitte lesen")), field())
    answers, errors = submit(spec, {"x": "ok", "hinweis": "eingeschmuggelt"})
    assert errors == [] and answers == {"x": "ok"}


# --- file ---------------------------------------------------------------------------------------


def upload(name="a.pdf", data=b"%PDF-1.4 demo"):
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/pdf")


def fake_store(path, file):
    return {
        "id": f"id-{file.filename}",
        "name": file.filename,
        "size": 12,
        "mime": "application/pdf",
        "sha256": "0",
    }


def test_file_upload_calls_store_and_keeps_existing():
    f = field(type_="file", max_files=2)
    existing = {"x": [fake_store("x", upload("alt.pdf"))]}
    answers, errors = submit(make_spec(f), {"x": upload()}, answers=existing, store_file=fake_store)
    assert errors == []
    assert [entry["name"] for entry in answers["x"]] == ["alt.pdf", "a.pdf"]


def test_file_errors_are_specific():
    f = field(type_="file", max_size_mb=0.00001)
    assert submit(make_spec(f), {}, store_file=fake_store)[1][0][1] == "Laden Sie eine Datei für „Feld“ hoch."
    assert (
        submit(make_spec(f), {"x": upload(data=b"")}, store_file=fake_store)[1][0][1]
        == "Die ausgewählte Datei ist leer."
    )
    message = submit(make_spec(f), {"x": upload(data=b"x" * 100)}, store_file=fake_store)[1][0][1]
    assert message.startswith("Die Datei ist zu groß")

    def reject(path, file):
        raise UploadRejected("Die Datei muss vom Typ PDF sein.")

    assert submit(make_spec(field(type_="file")), {"x": upload()}, store_file=reject)[1][0][1] == (
        "Die Datei muss vom Typ PDF sein."
    )
    one = {"x": [fake_store("x", upload("alt.pdf"))]}
    assert submit(make_spec(field(type_="file")), {"x": upload()}, one, fake_store)[1][0][1].startswith(
        "Entfernen Sie"
    )


def test_file_formats_names_and_links():
    f = field(type_="file")
    stored = [{"id": "abc", "name": "Schein.pdf", "size": 2048, "mime": "application/pdf", "sha256": "0"}]
    assert text(f, stored) == "Schein.pdf (2 KB)"
    rows = format_answers(make_spec(f), {"x": stored}, "de", "html", file_url=lambda f: f"/datei/{f['id']}")
    assert 'href="/datei/abc"' in rows[0].rows[0].value


def test_stored_files_survive_an_invalid_page():
    spec = make_spec(field(type_="file"), field("y"))
    page = spec.pages[0]
    form = build_page_form(spec, page, {}, "de", formdata=MultiDict({"x": upload(), "y": ""}))
    with pytest.raises(PageInvalid) as info:
        extract_page_answers(spec, page, form, {}, fake_store)
    assert info.value.answers["x"][0]["name"] == "a.pdf"


# --- repeating group ----------------------------------------------------------------------------


def group_field(**extra):
    children = [
        field("name"),
        field("gefaehrlich", "yesno", required=False),
        field("erlaubnis", condition={"==": [{"var": "item.gefaehrlich"}, True]}),
    ]
    return field("hunde", "group", fields=children, min_items=1, max_items=3, **extra)


def test_group_items_with_conditions_per_item():
    data = {
        "hunde-count": "2",
        "hunde-0-name": "Bello",
        "hunde-0-gefaehrlich": "no",
        "hunde-0-erlaubnis": "x",
        "hunde-1-name": "Rex",
        "hunde-1-gefaehrlich": "yes",
        "hunde-1-erlaubnis": "AZ 1",
    }
    assert value_of(group_field(), data) == [
        {"name": "Bello", "gefaehrlich": False},
        {"name": "Rex", "gefaehrlich": True, "erlaubnis": "AZ 1"},
    ]
    missing = {**data, "hunde-1-erlaubnis": ""}
    assert submit(make_spec(group_field()), missing)[1] == [
        ("hunde-1-erlaubnis", "Feld 2: Füllen Sie das Feld „Feld“ aus.")
    ]


def test_group_add_and_remove_buttons_renumber_items():
    spec = make_spec(group_field())
    page = spec.pages[0]
    posted = {"hunde-count": "2", "hunde-0-name": "A", "hunde-1-name": "B", "add_item": "hunde"}
    form = build_page_form(spec, page, {}, "de", formdata=MultiDict(posted))
    assert form.count("hunde") == 3
    posted = {
        "hunde-count": "3",
        "hunde-0-name": "A",
        "hunde-1-name": "B",
        "hunde-2-name": "C",
        "remove_item": "hunde:0",
    }
    form = build_page_form(spec, page, {}, "de", formdata=MultiDict(posted))
    assert form.count("hunde") == 2
    assert [form["hunde-0-name"].data, form["hunde-1-name"].data] == ["B", "C"]


def test_group_save_for_later_never_keeps_another_items_answer():
    """After "Entfernen" (not saved) item 0 is Ben, but saved item 0 is still Anna: Ben's invalid date
    must not be replaced by Anna's saved one."""
    children = [field("name"), field("geburt", "date")]
    spec = make_spec(field("kinder", "group", fields=children, min_items=1, max_items=5))
    page = spec.pages[0]
    saved = {"kinder": [{"name": "Anna", "geburt": "2020-01-01"}, {"name": "Ben", "geburt": "2021-06-01"}]}
    removed = build_page_form(spec, page, saved, "de", formdata=MultiDict({
        "kinder-count": "2", "kinder-0-name": "Anna", **_date_parts("kinder-0-geburt", "2020-01-01"),
        "kinder-1-name": "Ben", **_date_parts("kinder-1-geburt", "2021-06-01"), "remove_item": "kinder:0",
    }))
    assert removed.count("kinder") == 1 and removed["kinder-0-name"].data == "Ben"
    posted = {"kinder-count": "1", "kinder-0-name": "Ben", **_date_parts("kinder-0-geburt", "2021-02-31")}
    form = build_page_form(spec, page, saved, "de", formdata=MultiDict(posted))
    answers, skipped = extract_partial_answers(spec, page, form, saved)
    assert answers["kinder"] == [{"name": "Ben"}]
    assert [f.key for f in skipped] == ["geburt"]


def test_group_counts_are_clamped_to_min_and_max():
    spec = make_spec(group_field())
    form = build_page_form(spec, spec.pages[0], {}, "de", formdata=MultiDict({"hunde-count": "999"}))
    assert form.count("hunde") == 3
    form = build_page_form(spec, spec.pages[0], {}, "de", formdata=MultiDict({"hunde-count": "0"}))
    assert form.count("hunde") == 1


def test_group_formats_items():
    value = [{"name": "Bello", "gefaehrlich": False}]
    assert text(group_field(), value) == "Feld 1: Feld: Bello; Feld: Nein"
    assert "<ol" in text(group_field(), value, fmt="html")


# --- prefill round trip -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_doc", "value"),
    [
        (field(), "Hallo"),
        (field(type_="integer"), 12),
        (field(type_="decimal"), "12.50"),
        (field(type_="money"), 3070),
        (field(type_="date"), "2026-03-07"),
        (field(type_="yesno"), False),
        (field(type_="multichoice", options=OPTIONS), ["a", "c"]),
        (
            field(type_="address"),
            {"street": "Sonnenwall", "number": "73", "postcode": "47051", "city": "Duisburg"},
        ),
        (field(type_="iban"), "DE02120300000000202051"),
    ],
)
def test_prefilled_form_resubmits_the_same_value(field_doc, value):
    spec = make_spec(field_doc)
    page = spec.pages[0]
    prefilled = build_page_form(spec, page, {"x": value}, "de")
    assert extract_page_answers(spec, page, prefilled, {"x": value}) == {"x": value}


# --- conditions, pages, computed values ---------------------------------------------------------


def conditional_spec():
    return load_spec(
        {
            "schema_version": 1,
            "title": L("T"),
            "pages": [
                {
                    "key": "eins",
                    "title": L("Eins"),
                    "fields": [
                        field("firmenwagen", "yesno"),
                        field("arbeitgeber", condition={"==": [{"var": "firmenwagen"}, True]}),
                    ],
                },
                {
                    "key": "zwei",
                    "title": L("Zwei"),
                    "condition": {"==": [{"var": "firmenwagen"}, True]},
                    "fields": [
                        field("nachweis", "text"),
                    ],
                },
                {"key": "drei", "title": L("Drei"), "fields": [field("anzahl", "integer")]},
            ],
            "computed": {
                "fee_cents": {"*": [{"var": ["anzahl", 1]}, 1000.4]},
                "label": {"cat": ["n=", {"var": "anzahl"}]},
            },
        }
    )


def test_hidden_fields_are_neither_validated_nor_stored():
    spec = conditional_spec()
    page = spec.page("eins")
    form = build_page_form(
        spec, page, {}, "de", formdata=MultiDict({"firmenwagen": "no", "arbeitgeber": "\x00"})
    )
    assert extract_page_answers(spec, page, form, {}) == {"firmenwagen": False}
    form = build_page_form(
        spec, page, {}, "de", formdata=MultiDict({"firmenwagen": "yes", "arbeitgeber": ""})
    )
    with pytest.raises(PageInvalid):
        extract_page_answers(spec, page, form, {})


def test_same_page_dependants_are_rendered_other_hidden_ones_not():
    spec = conditional_spec()
    form = build_page_form(spec, spec.page("eins"), {"firmenwagen": False}, "de")
    assert form.shown(spec.field("arbeitgeber"))  # depends on an answer of this page


def test_changing_an_answer_drops_what_became_hidden():
    spec = conditional_spec()
    before = {"firmenwagen": True, "arbeitgeber": "Stadtwerke", "nachweis": "ok", "anzahl": 2}
    page = spec.page("eins")
    form = build_page_form(spec, page, before, "de", formdata=MultiDict({"firmenwagen": "no"}))
    assert extract_page_answers(spec, page, form, before) == {"firmenwagen": False, "anzahl": 2}
    assert [p.key for p in visible_pages(spec, {"firmenwagen": False})] == ["eins", "drei"]
    assert [p.key for p in visible_pages(spec, before)] == ["eins", "zwei", "drei"]


def test_validate_answers_reports_pages_and_paths():
    spec = conditional_spec()
    assert validate_answers(spec, {"firmenwagen": False, "anzahl": 3}) == {}
    problems = validate_answers(spec, {"firmenwagen": True, "anzahl": "drei"})
    assert problems == {
        "eins": [("arbeitgeber", "Füllen Sie das Feld „Feld“ aus.")],
        "zwei": [("nachweis", "Füllen Sie das Feld „Feld“ aus.")],
        "drei": [("anzahl", "Geben Sie eine ganze Zahl ein, zum Beispiel 12.")],
    }


def test_compute_values_rounds_cents_and_defaults():
    spec = conditional_spec()
    assert compute_values(spec, {"anzahl": 3}) == {"fee_cents": 3001, "label": "n=3"}
    assert compute_values(spec, {}) == {"fee_cents": 1000, "label": "n="}
    assert compute_values(spec, {"anzahl": "x"})["fee_cents"] == 0


@pytest.mark.parametrize(
    ("rule", "answers", "problem"),
    [
        ("abc", {}, "gave str"),
        (-500, {}, "gave a negative number"),
        ({"-": [{"var": "anzahl"}, 10]}, {"anzahl": 3}, "gave a negative number"),
        ({"var": "anzahl"}, {"anzahl": "geheim"}, "gave str"),
        ({"/": [1, 0]}, {}, "gave NoneType"),
        ({"nope": [1]}, {}, "could not be evaluated (JsonLogicError)"),
    ],
)
def test_compute_values_logs_a_fee_that_falls_back_to_zero(caplog, rule, answers, problem):
    """A broken fee rule must never fail a submission, but operators must learn that the fee became 0."""
    spec = make_spec(field("anzahl", "text", required=False))
    spec.doc["computed"] = {"fee_cents": rule}
    with caplog.at_level(logging.WARNING, logger="forms.dynamic.engine"):
        assert compute_values(spec, answers, service_id=7) == {"fee_cents": 0}
    [record] = caplog.records
    assert "fee_cents of service 7" in record.getMessage() and problem in record.getMessage()
    assert "geheim" not in record.getMessage()  # an answer is no log content


def test_compute_values_does_not_log_good_results(caplog):
    spec = make_spec(field("anzahl", "integer", required=False))
    spec.doc["computed"] = {"fee_cents": {"*": [{"var": ["anzahl", 1]}, 12.5]}, "label": "x"}
    with caplog.at_level(logging.WARNING, logger="forms.dynamic.engine"):
        assert compute_values(spec, {"anzahl": 3}, service_id=7) == {"fee_cents": 38, "label": "x"}
    assert caplog.records == []


def test_seeded_dog_tax_counts_dogs():
    from services.seed.forms import demo_documents

    spec = load_spec(demo_documents()["hundesteuer-anmeldung"])
    one = {"hunde": [{"gefaehrlich": False}]}
    two = {"hunde": [{"gefaehrlich": False}, {"gefaehrlich": False}]}
    dangerous = {"hunde": [{"gefaehrlich": True}]}
    assert [compute_values(spec, a)["tax_cents"] for a in (one, two, dangerous)] == [15600, 36000, 80400]


def test_validate_answers_paths_name_fields_not_inputs():
    spec = make_spec(field("geburt", "date"), group_field())
    problems = validate_answers(
        spec, {"geburt": "2026-02-31", "hunde": [{"name": "A"}, {"gefaehrlich": True}]}
    )
    assert [path for path, _message in problems["p"]] == ["geburt", "hunde.1.name", "hunde.1.erlaubnis"]


@pytest.mark.parametrize(
    "odd",
    [{"a": 1}, ["x"], 12, "kein Datum", None, True, {"street": 1}, [{"id": 1}], "2026-13-45"],
)
def test_stored_values_of_an_unexpected_shape_never_crash(odd):
    """Answers may come from an older form version: prefill, formatting and validation survive them."""
    docs = [
        field(),
        field("n", "integer"),
        field("m", "money"),
        field("d", "date"),
        field("y", "yesno"),
        field("c", "multichoice", options=OPTIONS),
        field("a", "address"),
        field("f", "file"),
        field("i", "iban"),
        group_field(),
    ]
    spec = make_spec(*docs)
    answers = {doc["key"]: odd for doc in docs}
    build_page_form(spec, spec.pages[0], answers, "de")
    for fmt in ("html", "text"):
        format_answers(spec, answers, "de", fmt)
    assert "p" in validate_answers(spec, answers)


# --- rendering (templates/macros/dynamic_fields.html) -------------------------------------------


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.label_for, self.controls, self.describedby = [], set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "label":
            self.label_for.add(attrs.get("for"))
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append(attrs)
        if "aria-describedby" in attrs:
            self.describedby.extend(attrs["aria-describedby"].split())


@pytest.mark.parametrize(
    "slug",
    [
        "bewohnerparkausweis",
        "hundesteuer-anmeldung",
        "gewerbeanmeldung",
        "sondernutzungserlaubnis",
        "meldebescheinigung",
    ],
)
def test_rendered_pages_label_every_input_and_reference_existing_ids(slug):
    from services.seed.forms import demo_documents

    spec = load_spec(demo_documents()[slug])
    for page in spec.pages:
        form = build_page_form(spec, page, {}, "de", formdata=MultiDict())
        with pytest.raises(PageInvalid) as info:  # every seeded page has a required field
            extract_page_answers(spec, page, form, {})
        html = render_template_string(RENDER, form=info.value.form, page=page)
        parsed = _Inputs()
        parsed.feed(html)
        assert len(parsed.ids) == len(set(parsed.ids)), page.key
        for control in parsed.controls:
            assert control["id"] in parsed.label_for, (page.key, control["id"])
        assert set(parsed.describedby) <= set(parsed.ids)
        anchors = {anchor for anchor, _message in form_error_pairs(info.value.form)}
        assert anchors <= set(parsed.ids), page.key


def test_address_inputs_carry_autocomplete_tokens():
    spec = make_spec(field("adr", "address"), field("mail", "email"), field("tel", "phone"))
    html = render_template_string(
        RENDER, form=build_page_form(spec, spec.pages[0], {}, "de"), page=spec.pages[0]
    )
    for token in (
        'autocomplete="address-line1"',
        'autocomplete="postal-code"',
        'autocomplete="address-level2"',
        'type="email"',
        'type="tel"',
        'autocomplete="email"',
    ):
        assert token in html


def test_text_uppercase_option_normalises_before_the_pattern_check():
    plate = field(pattern="[A-ZÄÖÜ]{1,3}[- ][A-Z]{1,2} ?[0-9]{1,4}[EH]?", uppercase=True)
    assert value_of(plate, {"x": " du-ab  123 "}) == "DU-AB 123"
    message = error_of({**plate, "uppercase": False}, {"x": "du-ab 123"})
    assert message == "Die Eingabe hat nicht das erwartete Format."


def test_prefill_sources_of_the_registry_match_the_schema_and_the_drafts():
    """The designer offers a type's prefill_sources; the schema and services.drafts must agree."""
    import json
    from pathlib import Path

    from forms.dynamic import get_type
    from services.drafts import ACCOUNT_PREFILL

    schema = json.loads(Path("docs/schemas/form-definition.schema.json").read_text())
    in_schema = {
        rule["if"]["properties"]["type"]["const"]: tuple(rule["then"]["properties"]["prefill"]["enum"])
        for rule in _schema_rules(schema)
        if "prefill" in rule.get("then", {}).get("properties", {})
    }
    assert in_schema == {"text": get_type("text").prefill_sources, "email": get_type("email").prefill_sources}
    assert set(ACCOUNT_PREFILL) == {s for sources in in_schema.values() for s in sources}


def _schema_rules(node):
    """Every {"if": …, "then": …} rule anywhere in the schema."""
    if isinstance(node, dict):
        if "if" in node and "then" in node:
            yield node
        for value in node.values():
            yield from _schema_rules(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_rules(value)
