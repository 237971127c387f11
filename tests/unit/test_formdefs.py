"""Definition validation (schema + semantics, exact JSON paths), publishing and loading."""

import copy
import json

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from forms.dynamic import type_names
from forms.dynamic.patterns import pattern_problem
from models import FormDefinition
from services.errors import InvalidDefinition
from services.formdefs import (
    ENGLISH_MISSING,
    SCHEMA_PATH,
    checksum,
    latest_version,
    load_spec,
    publish_form,
    validate_definition,
)
from services.seed.forms import demo_documents
from tests.factories import ServiceFactory


def L(text):
    return {"de": text, "en": text}


def good_doc():
    return {
        "schema_version": 1,
        "title": L("Testformular"),
        "pages": [
            {
                "key": "eins",
                "title": L("Seite 1"),
                "fields": [
                    {
                        "key": "name",
                        "type": "text",
                        "label": L("Name"),
                        "required": True,
                        "privacy": "personal",
                    },
                    {
                        "key": "art",
                        "type": "choice",
                        "label": L("Art"),
                        "options": [{"value": "a", "label": L("A")}, {"value": "b", "label": L("B")}],
                    },
                ],
            },
            {
                "key": "zwei",
                "title": L("Seite 2"),
                "condition": {"==": [{"var": "art"}, "b"]},
                "fields": [
                    {
                        "key": "hunde",
                        "type": "group",
                        "label": L("Hunde"),
                        "fields": [
                            {"key": "hund", "type": "text", "label": L("Hund")},
                            {
                                "key": "chip",
                                "type": "text",
                                "label": L("Chip"),
                                "condition": {"!=": [{"var": "item.hund"}, ""]},
                            },
                        ],
                    },
                ],
            },
        ],
        "computed": {"fee_cents": {"*": [{"var": "_count.hunde"}, 1000]}},
    }


def errors_after(change):
    doc = good_doc()
    change(doc)
    return validate_definition(doc)


def test_good_document_and_every_seeded_definition_are_valid():
    assert validate_definition(good_doc()) == []
    documents = demo_documents()
    assert set(documents) == {
        "bewohnerparkausweis",
        "hundesteuer-anmeldung",
        "gewerbeanmeldung",
        "sondernutzungserlaubnis",
        "meldebescheinigung",
    }
    for slug, document in documents.items():
        assert validate_definition(document) == [], slug


def test_schema_lists_exactly_the_registered_types():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert set(schema["$defs"]["field"]["properties"]["type"]["enum"]) == set(type_names())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("title"), ("$", "'title' is a required property")),
        (
            lambda d: d["pages"][0]["fields"][0].update(type="signature"),
            ("$.pages[0].fields[0].type", "Unbekannter Feldtyp „signature“."),
        ),
        (
            lambda d: d["pages"][0]["fields"][0].update(key="Name!"),
            ("$.pages[0].fields[0].key", "'Name!' does not match '^[a-z][a-z0-9_]{0,59}$'"),
        ),
        (
            lambda d: d["pages"][0]["fields"][0]["label"].pop("en"),
            ("$.pages[0].fields[0].label.en", str(ENGLISH_MISSING)),
        ),
        (
            lambda d: d["pages"][0]["fields"][0].update(colour="red"),
            ("$.pages[0].fields[0]", "unknown property: 'colour' was unexpected"),
        ),
        (
            lambda d: d["pages"][0]["fields"][1].update(max_length=5),
            ("$.pages[0].fields[1]", "unknown property: 'max_length' was unexpected"),
        ),
        (
            lambda d: d["pages"][0]["fields"][1].pop("options"),
            ("$.pages[0].fields[1]", "'options' is a required property"),
        ),
    ],
)
def test_schema_errors_name_the_exact_path(change, expected):
    assert expected in errors_after(change)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["pages"][1].update(key="eins"),
            ("$.pages[1].key", "Der Seitenschlüssel „eins“ kommt mehrfach vor."),
        ),
        (
            lambda d: d["pages"][1]["fields"][0]["fields"][0].update(key="name"),
            ("$.pages[1].fields[0].fields[0].key", "Der Feldschlüssel „name“ kommt mehrfach vor."),
        ),
        (
            lambda d: d["pages"][0]["fields"][1]["options"][1].update(value="a"),
            ("$.pages[0].fields[1].options[1].value", "Der Wert „a“ kommt mehrfach vor."),
        ),
        (
            lambda d: d["pages"][0]["fields"][0].update(condition={"==": [{"var": "art"}, "a"]}),
            (
                "$.pages[0].fields[0].condition",
                "Die Bedingung bezieht sich auf „art“, aber dieses Feld steht nicht davor.",
            ),
        ),
        (
            lambda d: d["pages"][0]["fields"][1].update(condition={"regex": [{"var": "name"}, "x"]}),
            ("$.pages[0].fields[1].condition", "Unbekannter Operator „regex“."),
        ),
        (
            lambda d: d["pages"][0]["fields"][1].update(condition={"and": [True, {"eval": "x"}]}),
            ("$.pages[0].fields[1].condition.and[1]", "Unbekannter Operator „eval“."),
        ),
        (
            lambda d: d["pages"][1]["fields"][0]["fields"][0].update(condition={"var": "item.chip"}),
            (
                "$.pages[1].fields[0].fields[0].condition",
                "Die Bedingung bezieht sich auf „item.chip“, aber dieses Feld steht nicht davor.",
            ),
        ),
        (
            lambda d: d["computed"].update(total={"var": "unbekannt"}),
            (
                "$.computed.total",
                "Die Bedingung bezieht sich auf „unbekannt“, aber dieses Feld steht nicht davor.",
            ),
        ),
        (
            lambda d: d["pages"][0]["fields"][0].update(pattern="(a+)+$"),
            (
                "$.pages[0].fields[0].pattern",
                "Verschachtelte Wiederholungen im Muster können die Prüfung sehr langsam machen.",
            ),
        ),
        (
            lambda d: d["pages"][0]["fields"][0].update(pattern="(a|a)*b"),
            (
                "$.pages[0].fields[0].pattern",
                "Alternativen in einer Wiederholung überschneiden sich; "
                "das kann die Prüfung sehr langsam machen.",
            ),
        ),
        (
            lambda d: d["pages"][0]["fields"][0].update(pattern="([a-z"),
            (
                "$.pages[0].fields[0].pattern",
                "Das Muster ist kein gültiger regulärer Ausdruck (Fehler an Stelle 2).",
            ),
        ),
        (
            lambda d: d["pages"][0]["fields"][0].update(min_length=9, max_length=3),
            (
                "$.pages[0].fields[0].min_length",
                "Die Mindestlänge darf nicht größer als die Höchstlänge sein.",
            ),
        ),
        (
            lambda d: d["pages"][0]["fields"].append(
                {"key": "zahl", "type": "integer", "label": L("Zahl"), "min": 5, "max": 1}
            ),
            ("$.pages[0].fields[2].min", "Der Mindestwert darf nicht größer als der Höchstwert sein."),
        ),
        (
            lambda d: d["pages"][0]["fields"].append(
                {"key": "tag", "type": "date", "label": L("Tag"), "min": "Morgen!"}
            ),
            (
                "$.pages[0].fields[2].min",
                "Erwartet wird JJJJ-MM-TT, „today“, „today+N“/„today-N“ "
                "oder der Schlüssel eines früheren Datumsfelds („von“, „von+1“).",
            ),
        ),
        (
            lambda d: d["pages"][0]["fields"].append(
                {"key": "tag", "type": "date", "label": L("Tag"), "min": "morgen"}
            ),
            ("$.pages[0].fields[2].min", "„morgen“ ist kein Feld, das vor diesem steht."),
        ),
        (
            lambda d: d["pages"][0]["fields"].append(
                {"key": "tag", "type": "date", "label": L("Tag"), "max": "name+3"}
            ),
            ("$.pages[0].fields[2].max", "„name“ ist kein Feld vom Typ „date“."),
        ),
        (
            lambda d: d["pages"][0]["fields"].append(
                {"key": "tag", "type": "date", "label": L("Tag"), "min": "2026-02-30"}
            ),
            ("$.pages[0].fields[2].min", "Dieses Datum gibt es nicht."),
        ),
        (
            lambda d: d["pages"][1]["fields"][0]["fields"].append(
                {"key": "foto", "type": "file", "label": L("Foto")}
            ),
            (
                "$.pages[1].fields[0].fields[2].type",
                "Felder vom Typ „file“ sind in wiederholbaren Gruppen nicht möglich.",
            ),
        ),
        (
            lambda d: d["pages"][1]["fields"][0].update(min_items=5, max_items=2),
            (
                "$.pages[1].fields[0].min_items",
                "Die Mindestanzahl darf nicht größer als die Höchstanzahl sein.",
            ),
        ),
    ],
)
def test_semantic_errors_name_the_exact_path(change, expected):
    assert expected in errors_after(change)


def test_semantic_problems_are_reported_together_with_structural_ones():
    """A malformed setting of one field no longer hides the other fields' problems (reported in rounds)."""
    doc = good_doc()
    fields = doc["pages"][0]["fields"]
    fields[0].update(max_length="abc")  # structural: the text field's own checks are skipped
    fields[1]["label"].pop("en")  # structural, but no check reads labels: the choice is still checked
    fields[1]["options"][1]["value"] = "a"
    fields += [
        {"key": "zahl", "type": "integer", "label": L("Zahl"), "min": 5, "max": 1},
        {"key": "wahl", "type": "multichoice", "label": L("Wahl"), "min_selected": 2, "max_selected": 1,
         "options": [{"value": "x", "label": L("X")}, {"value": "y", "label": L("Y")}]},
        {"key": "muster", "type": "text", "label": L("Muster"), "pattern": "(a+)+b"},
        {"key": "tag", "type": "date", "label": L("Tag"), "min": "Morgen!"},
        {"key": "Kaputt!", "type": "integer", "label": L("K"), "min": 3, "max": 2},
    ]  # fmt: skip
    doc["pages"][1]["fields"][0].update(min_items=5, max_items=2)
    doc["pages"][1]["key"] = "eins"
    errors = validate_definition(doc)
    assert ("$.pages[0].fields[0].max_length", "'abc' is not of type 'integer'") in errors
    assert ("$.pages[0].fields[1].label.en", str(ENGLISH_MISSING)) in errors
    assert {path for path, _reason in errors} >= {
        "$.pages[0].fields[1].options[1].value",
        "$.pages[0].fields[2].min",
        "$.pages[0].fields[3].min_selected",
        "$.pages[0].fields[4].pattern",
        "$.pages[0].fields[5].min",
        "$.pages[0].fields[6].key",  # the key's format
        "$.pages[0].fields[6].min",  # and, all the same, min > max
        "$.pages[1].fields[0].min_items",
        "$.pages[1].key",
    }
    assert not [path for path, _reason in errors if path.startswith("$.pages[0].fields[0].") and
                not path.endswith("max_length")]  # fmt: skip


ODD_VALUES = ["abc", -1, None, [], {}, [None], {"de": 1}, 10**12, True, 1.5]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_malformed_settings_never_break_validation(odd):
    """Every setting of every seeded field set to an odd value: problems are listed, never raised."""
    for document in demo_documents().values():
        doc = copy.deepcopy(document)
        for page in doc["pages"]:
            for field in page["fields"] + [c for f in page["fields"] for c in f.get("fields", [])]:
                for name in list(field):
                    if name not in ("key", "type", "label", "fields"):
                        field[name] = odd
        doc["computed"] = {"fee_cents": {"+": [{"var": "_count.x"}, 1]}}
        assert validate_definition(doc)  # no exception, and the odd values are reported
        for name in ("key", "type", "fields"):
            doc = copy.deepcopy(document)
            for page in doc["pages"]:
                for field in page["fields"][::2]:
                    field[name] = odd
            validate_definition(doc)  # never raises


def _fee(rule, **extra_computed):
    doc = good_doc()
    doc["computed"] = {"fee_cents": rule, **extra_computed}
    return validate_definition(doc)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("abc", "Der Betrag „fee_cents“ muss eine Zahl in Cent ab 0 sein (ohne Anführungszeichen); "
                "mit „abc“ wäre er immer 0 €."),
        ("1250", "Der Betrag „fee_cents“ muss eine Zahl in Cent ab 0 sein (ohne Anführungszeichen); "
                 "mit „1250“ wäre er immer 0 €."),
        (True, "Der Betrag „fee_cents“ muss eine Zahl in Cent ab 0 sein (ohne Anführungszeichen); "
               "mit „true“ wäre er immer 0 €."),
        (-500, "Der Betrag „fee_cents“ darf nicht negativ sein (-500 Cent); er wäre sonst immer 0 €."),
        ({"var": "name"}, "Die Regel für „fee_cents“ ergibt mit Beispielantworten in allen Feldern "
                          "„Beispiel“ statt einer Zahl in Cent; der Betrag wäre dann 0 €."),
        ({"if": [{"==": [{"var": "art"}, "b"]}, -100, 500]},
         "Die Regel für „fee_cents“ ergibt wenn „art“ den Wert „b“ hat einen negativen Betrag "
         "(-100 Cent); er wäre dann 0 €."),
        ({"/": [1250, 0]}, "Die Regel für „fee_cents“ ergibt bei keiner Beispielantwort eine Zahl (etwa "
                           "wegen einer Division durch 0 oder eines Textes); der Betrag wäre immer 0 €."),
        # the dogs' page is shown only for art = "b": the ten-dog sample is combined with that answer
        ({"-": [5000, {"*": [{"var": "_count.hunde"}, 600]}]},
         "Die Regel für „fee_cents“ ergibt wenn „art“ den Wert „b“ hat und mit 10 Einträgen in „hunde“ "
         "einen negativen Betrag (-1000 Cent); er wäre dann 0 €."),
    ],
)
def test_fee_rule_without_a_usable_amount_is_refused(rule, message):
    """compute_values would count such a fee as 0: the service would be free without anyone noticing."""
    assert _fee(rule) == [("$.computed.fee_cents", message)]


@pytest.mark.parametrize(
    "rule",
    [
        0,
        1250,
        12.5,
        {"*": [{"var": "_count.hunde"}, 1000]},  # null while the dogs' page is hidden: counts as 0
        {"if": [{"==": [{"var": "art"}, "b"]}, 6140, 3070]},
        {"*": [{"var": ["_count.hunde", 0]}, 1000]},
    ],
)
def test_fee_rules_giving_amounts_pass(rule):
    assert _fee(rule) == []


def test_other_computed_values_may_give_anything_but_other_cents_are_checked():
    assert _fee(1000, label={"cat": ["Hunde: ", {"var": "_count.hunde"}]}, flag=True) == []
    assert _fee(1000, tax_cents="viel") == [
        (
            "$.computed.tax_cents",
            "Der Betrag „tax_cents“ muss eine Zahl in Cent ab 0 sein (ohne Anführungszeichen); "
            "mit „viel“ wäre er immer 0 €.",
        )
    ]


def _field_at(spec, answer_path: str):
    """The field of a validate_answers path ("hunde.0.name" → the group child "hunde.name")."""
    return spec.field(".".join(part for part in answer_path.split(".") if not part.isdigit()))


def test_sample_answers_are_answers_the_forms_accept(app_ctx):
    """The samples a fee rule is tried on are realistic: every seeded form (together they use every
    field type) accepts each sample answer set but the empty one (a text with a pattern aside)."""
    from forms.dynamic import validate_answers
    from services.computed_checks import sample_answer_sets

    for slug, document in demo_documents().items():
        spec = load_spec(document)
        samples = sample_answer_sets(document, document.get("computed", {}).values())
        assert samples[0].answers == {} and len(samples) > 3, slug
        for sample in samples[1:]:
            problems = [pair for found in validate_answers(spec, sample.answers).values() for pair in found]
            refused = [(k, m) for k, m in problems if not _field_at(spec, k).get("pattern")]
            assert refused == [], (slug, sample.about)


def _dates_doc(first_page, second_page):
    doc = good_doc()
    doc["pages"][0]["fields"] += first_page
    doc["pages"][1]["fields"] += second_page
    return doc


def _date(key, **bounds):
    return {"key": key, "type": "date", "label": L(key), **bounds}


def test_date_bound_may_name_an_earlier_date_field_of_the_page_form_or_item():
    dog = {"key": "hunde2", "type": "group", "label": L("Hunde"),
           "fields": [_date("wurf"), _date("seit", min="wurf", max="today")]}  # fmt: skip
    first = [_date("von"), _date("bis", min="von", max="von+30")]
    doc = _dates_doc(first, [_date("spaeter", min="bis-1"), dog])
    assert validate_definition(doc) == []


def test_date_bound_naming_a_later_field_or_another_items_field_is_rejected():
    later = _dates_doc([_date("bis", min="von"), _date("von")], [])
    assert validate_definition(later) == [
        ("$.pages[0].fields[2].min", "„von“ ist kein Feld, das vor diesem steht.")
    ]
    dog = {"key": "hunde2", "type": "group", "label": L("Hunde"),
           "fields": [_date("seit", min="wurf"), _date("wurf")]}  # fmt: skip
    assert validate_definition(_dates_doc([], [dog])) == [
        (
            "$.pages[1].fields[1].fields[0].min",
            "„wurf“ ist kein Feld, das vor diesem steht (im selben Eintrag oder davor).",
        )
    ]


def test_pattern_length_is_capped():
    long_pattern = "[a-z]" * 41
    assert ("$.pages[0].fields[0].pattern", "'" + long_pattern + "' is too long") in errors_after(
        lambda d: d["pages"][0]["fields"][0].update(pattern=long_pattern)
    )
    assert pattern_problem(long_pattern) == "Das Muster darf höchstens 200 Zeichen lang sein."


@pytest.mark.parametrize(
    "pattern",
    [r"[0-9]{5}", r"[A-ZÄÖÜ]{1,3}[- ][A-Z]{1,2} ?[0-9]{1,4}[EH]?", r"(\d{1,3}\.){3}\d{1,3}", r"(ab|cd)+"],
)
def test_harmless_patterns_pass(pattern):
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize("pattern", [r"(a*)*", r"(x+x+)+y", r"([a-z]{1,5})+", r"\d*\d*\d*x", r"(a|ab)*c"])
def test_risky_patterns_are_rejected(pattern):
    assert pattern_problem(pattern) is not None


# --- publishing ---------------------------------------------------------------------------------


def test_publish_freezes_versions_with_checksum(db):
    service = ServiceFactory()
    definition = FormDefinition(service=service, draft=good_doc())
    db.session.add(definition)
    first = publish_form(definition, None, "Erste Fassung")
    assert (first.number, first.checksum) == (1, checksum(good_doc()))
    assert publish_form(definition, None) is first  # unchanged draft: no new version
    changed = copy.deepcopy(good_doc())
    changed["title"]["de"] = "Neuer Titel"
    definition.draft = changed
    second = publish_form(definition, None, "Titel")
    assert second.number == 2
    assert latest_version(service) is second
    assert first.document["title"]["de"] == "Testformular"  # old version untouched


def test_publish_rejects_invalid_draft_and_changes_nothing(db):
    service = ServiceFactory()
    bad = good_doc()
    bad["pages"][0]["fields"][0]["type"] = "signature"
    definition = FormDefinition(service=service, draft=bad)
    db.session.add(definition)
    with pytest.raises(InvalidDefinition) as info:
        publish_form(definition, None)
    assert info.value.errors == [("$.pages[0].fields[0].type", "Unbekannter Feldtyp „signature“.")]
    assert latest_version(service) is None


def test_load_spec_is_cached_per_version(db):
    service = ServiceFactory()
    definition = FormDefinition(service=service, draft=good_doc())
    db.session.add(definition)
    version = publish_form(definition, None)
    assert load_spec(version) is load_spec(version)
    spec = load_spec(version)
    assert [p.key for p in spec.pages] == ["eins", "zwei"]
    assert spec.field("hunde.chip").label("de") == "Chip"


def test_seeded_forms_together_use_every_field_type():
    used = set()

    def collect(fields):
        for f in fields:
            used.add(f["type"])
            collect(f.get("fields", ()))

    for document in demo_documents().values():
        for page in document["pages"]:
            collect(page["fields"])
    assert used == set(type_names())


def _with_files(*fields):
    doc = good_doc()
    doc["pages"][0]["fields"] += [{"key": k, "type": "file", "label": L(k), **o} for k, o in fields]
    return doc


def test_seeded_forms_fit_the_default_upload_limits(app_ctx):
    """The seeded help texts promise e.g. "3 files, 10 MB each": the request total must allow that."""
    for slug, document in demo_documents().items():
        assert validate_definition(document) == [], slug


def test_file_limits_beyond_the_installation_limits_are_refused(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "MAX_REQUEST_UPLOAD_BYTES", 25 * 1024 * 1024)
    doc = _with_files(("plan", {}), ("fotos", {"max_size_mb": 5, "max_files": 3}))
    assert validate_definition(doc) == []  # 10 + 3 × 5 = 25 MB
    doc["pages"][0]["fields"][3]["max_files"] = 4
    assert validate_definition(doc) == [
        (
            "$.pages[0].fields[3].max_files",
            "Die Dateien des Formulars können zusammen 30 MB groß werden, je Antrag sind höchstens "
            "25 MB möglich (MAX_REQUEST_UPLOAD_BYTES).",
        )
    ]
    too_big = _with_files(("plan", {"max_size_mb": 20}))
    message = "Höchstens 10 MB je Datei sind möglich (MAX_UPLOAD_BYTES)."
    expected = ("$.pages[0].fields[2].max_size_mb", message)
    assert validate_definition(too_big) == [expected]


def test_files_of_one_page_must_fit_one_post(app_ctx):
    """5 files of 10 MB are sent with one "Weiter": more than MAX_CONTENT_LENGTH (32 MB) is a 413."""
    doc = _with_files(("plan", {"max_files": 2}), ("fotos", {"max_files": 1}))
    assert validate_definition(doc) == []  # 30 MB + 1 MB for the other inputs
    doc["pages"][0]["fields"][3]["max_files"] = 2
    doc["pages"][1]["fields"].append({"key": "anlage", "type": "file", "label": L("Anlage")})
    assert validate_definition(doc) == [
        (
            "$.pages[0].fields[3].max_files",
            "Die Dateien der Seite „eins“ können zusammen 40 MB groß werden, mit einem Absenden sind "
            "höchstens 31 MB möglich (MAX_CONTENT_LENGTH abzüglich 1 MB für die übrigen Angaben).",
        )
    ]  # the file on page "zwei" is sent with its own post


def test_files_in_a_repeating_group_count_once_per_item(app_ctx):
    """File fields are not allowed in groups yet; should they be, every item's files go in one post."""
    nachweis = {"key": "nachweis", "type": "file", "label": L("Nachweis")}
    group = {"key": "kinder", "type": "group", "label": L("Kinder"), "max_items": 4, "fields": [nachweis]}
    doc = good_doc()
    doc["pages"][0]["fields"].append(group)
    reason = (
        "Die Dateien der Seite „eins“ können zusammen 40 MB groß werden, mit einem Absenden sind "
        "höchstens 31 MB möglich (MAX_CONTENT_LENGTH abzüglich 1 MB für die übrigen Angaben)."
    )
    assert ("$.pages[0].fields[2].fields[0].max_files", reason) in validate_definition(doc)


def _address(key, **options):
    return {"key": key, "type": "address", "label": L(key), **options}


def test_applicant_address_marks_one_top_level_address(app_ctx):
    doc = good_doc()
    doc["pages"][0]["fields"] += [_address("ort"), _address("anschrift", applicant_address=True)]
    assert validate_definition(doc) == []
    assert load_spec(doc).applicant_address_key == "anschrift"
    doc["pages"][0]["fields"][2]["applicant_address"] = True
    assert validate_definition(doc) == [(
        "$.pages[0].fields[3].applicant_address",
        "Nur eine Anschrift kann die Postanschrift der antragstellenden Person sein.",
    )]  # fmt: skip


def test_applicant_address_refused_inside_a_group_and_on_other_types(app_ctx):
    doc = good_doc()
    doc["pages"][1]["fields"][0]["fields"].append(_address("wohnort", applicant_address=True))
    assert [path for path, _reason in validate_definition(doc)] == [
        "$.pages[1].fields[0].fields[2].applicant_address"
    ]
    doc = good_doc()
    doc["pages"][0]["fields"][0]["applicant_address"] = True  # a text field
    assert validate_definition(doc)


def test_seeded_forms_mark_the_applicant_address():
    for slug, document in demo_documents().items():
        assert load_spec(document).applicant_address_key, slug


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["pages"][0]["fields"][0]["label"].update(en=""), "$.pages[0].fields[0].label.en"),
        (
            lambda d: d["pages"][0]["fields"][0].update(help={"de": "Wie im Pass"}),
            "$.pages[0].fields[0].help.en",
        ),
        (lambda d: d["pages"][0].update(help={"de": "Bitte", "en": " "}), "$.pages[0].help.en"),
        (
            lambda d: d["pages"][0]["fields"][1]["options"][1]["label"].update(en=""),
            "$.pages[0].fields[1].options[1].label.en",
        ),
    ],
)
def test_texts_without_english_block_publishing_at_their_path(change, path):
    """Otherwise the English pages show the German text (a new field's "Abbau am")."""
    assert (path, str(ENGLISH_MISSING)) in errors_after(change)


def test_demo_group_help_names_the_add_button_as_it_is_labelled(app_ctx):
    """The dog help said 'Add more' while the button reads 'Add another'."""
    hunde = load_spec(demo_documents()["hundesteuer-anmeldung"]).field("hunde")
    assert "„Weitere Angaben hinzufügen“" in hunde.help("de")
    with force_locale("en"):
        assert f"'{_('Weitere Angaben hinzufügen')}'" in hunde.help("en")


def test_prefill_is_checked_when_the_definition_is_validated():
    def with_prefill(value, group=False):
        def change(d):
            target = d["pages"][1]["fields"][0]["fields"][0] if group else d["pages"][0]["fields"][0]
            target["prefill"] = value

        return errors_after(change)

    assert with_prefill("account.full_name") == []
    assert "$.pages[0].fields[0].prefill" in dict(with_prefill("account.password"))
    in_group = with_prefill("account.full_name", group=True)
    assert [path for path, _reason in in_group] == ["$.pages[1].fields[0].fields[0].prefill"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (  # the label instead of the value (saved before the condition builder mapped labels)
            lambda d: d["pages"][1].update(condition={"==": [{"var": "art"}, "B"]}),
            ("$.pages[1].condition",
             "„B“ ist die Beschriftung einer Option von „art“; Bedingungen vergleichen mit ihrem Wert „b“."),
        ),
        (  # a removed option, in a list of values
            lambda d: d["pages"][1].update(condition={"in": [{"var": "art"}, ["a", "c"]]}),
            ("$.pages[1].condition",
             "„art“ hat keine Option mit dem Wert „c“; die Bedingung träfe nie zu. "
             "Mögliche Werte: „a“, „b“."),
        ),
        (  # inside a fee rule, written the other way round
            lambda d: d["computed"].update(fee_cents={"if": [{"!=": ["x", {"var": "art"}]}, 500, 0]}),
            ("$.computed.fee_cents",
             "„art“ hat keine Option mit dem Wert „x“; die Bedingung träfe nie zu. "
             "Mögliche Werte: „a“, „b“."),
        ),
    ],
)
def test_conditions_comparing_a_choice_with_a_value_it_never_stores_are_refused(change, expected):
    assert expected in errors_after(change)


def test_conditions_with_option_values_pass():
    def change(d):
        both = [{"in": [{"var": "art"}, ["a", "b"]]}, {"!=": [{"var": "art"}, "a"]}]
        d["pages"][1]["condition"] = {"and": both}

    assert errors_after(change) == []
