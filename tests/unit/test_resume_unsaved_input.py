""""Später fortsetzen" with invalid input: the draft keeps normalised answers, the typed input is
remembered beside them and shown again with its error when the citizen resumes."""

import io

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from forms.dynamic import build_page_form, build_resumed_page_form, extract_partial_answers, form_error_pairs
from services.formdefs import load_spec

pytestmark = pytest.mark.usefixtures("app_ctx")


def L(text):
    return {"de": text, "en": f"{text} (en)"}


def make_spec(*fields):
    page = {"key": "p", "title": L("P"), "fields": list(fields)}
    return load_spec({"schema_version": 1, "title": L("T"), "pages": [page]})


def save_later(spec, posted, saved):
    page = spec.pages[0]
    form = build_page_form(spec, page, saved, "de", formdata=MultiDict(posted))
    answers, skipped = extract_partial_answers(spec, page, form, saved)
    return answers, skipped, form.unsaved_input


def resume(spec, answers, unsaved):
    form = build_resumed_page_form(spec, spec.pages[0], answers, unsaved, "de")
    return form, form_error_pairs(form)


DATE = {"key": "beginn", "type": "date", "label": L("Beginn"), "required": True}
NAME = {"key": "name", "type": "text", "label": L("Name"), "required": True}
CITY = {"key": "ort", "type": "text", "label": L("Ort"), "required": True}
NOT_SAVED = "Ihre letzte Eingabe hier wurde nicht gespeichert, weil sie ungültig war."


def test_an_impossible_date_comes_back_as_typed_with_its_error():
    spec = make_spec(NAME, DATE, CITY)
    saved = {"name": "Erika", "beginn": "2027-02-01"}
    posted = {"name": "Erika M.", "beginn-day": "31", "beginn-month": "02", "beginn-year": "2027", "ort": ""}
    answers, skipped, unsaved = save_later(spec, posted, saved)
    assert answers == {"name": "Erika M.", "beginn": "2027-02-01"}  # only normalised answers are saved
    assert [f.key for f in skipped] == ["beginn"]
    assert unsaved == {"beginn": {"beginn-day": ["31"], "beginn-month": ["02"], "beginn-year": ["2027"]}}
    form, errors = resume(spec, answers, unsaved)
    assert form["beginn"].data == {"day": "31", "month": "02", "year": "2027"}  # not the saved 01.02.
    assert form["name"].data == "Erika M."
    # only the unsaved input's error: the empty required "Ort" waits for "Weiter" as before
    assert errors == [("beginn-day", "Dieses Datum gibt es nicht. Prüfen Sie Tag und Monat.")]


def test_valid_save_remembers_nothing():
    spec = make_spec(NAME, DATE)
    posted = {"name": "Erika", "beginn-day": "1", "beginn-month": "2", "beginn-year": "2027"}
    answers, skipped, unsaved = save_later(spec, posted, {})
    assert skipped == [] and unsaved == {} and answers["beginn"] == "2027-02-01"


def test_input_in_a_repeating_group_comes_back_in_its_item():
    group = {"key": "kinder", "type": "group", "label": L("Kinder"), "required": True, "min_items": 1,
             "max_items": 3, "item_label": L("Kind"), "fields": [NAME, dict(DATE, key="geburt")]}  # fmt: skip
    spec = make_spec(group)
    posted = {"kinder-count": "2", "kinder-0-name": "Anna", "kinder-0-geburt-day": "1",
              "kinder-0-geburt-month": "1", "kinder-0-geburt-year": "2020", "kinder-1-name": "Ben",
              "kinder-1-geburt-day": "30", "kinder-1-geburt-month": "2",
              "kinder-1-geburt-year": "2021"}  # fmt: skip
    answers, _skipped, unsaved = save_later(spec, posted, {})
    assert answers["kinder"] == [{"name": "Anna", "geburt": "2020-01-01"}, {"name": "Ben"}]
    form, errors = resume(spec, answers, unsaved)
    assert form["kinder-1-geburt"].data == {"day": "30", "month": "2", "year": "2021"}
    assert [anchor for anchor, _message in errors] == ["kinder-1-geburt-day"]


def test_input_that_cannot_be_kept_is_named_as_not_saved():
    spec = make_spec(NAME)
    answers, _skipped, unsaved = save_later(spec, {"name": "Er\x00ika"}, {"name": "Erika"})
    assert answers == {"name": "Erika"}
    assert unsaved == {"name": {"name": ["Er\ufffdika"]}}  # PostgreSQL's JSONB holds no NUL
    form, errors = resume(spec, answers, unsaved)
    assert form["name"].data == "Er\ufffdika"
    assert errors == [("name", NOT_SAVED)]


def test_a_rejected_file_is_named_as_not_saved():
    upload = {"key": "nachweis", "type": "file", "label": L("Nachweis"), "required": False}
    spec = make_spec(NAME, upload)

    def refuse(path, file):
        from services.errors import UploadRejected

        raise UploadRejected("Dieser Dateityp ist nicht erlaubt.")

    page = spec.pages[0]
    posted = MultiDict({"name": "Erika", "nachweis": FileStorage(io.BytesIO(b"MZ"), "virus.exe")})
    form = build_page_form(spec, page, {}, "de", formdata=posted)
    answers, skipped = extract_partial_answers(spec, page, form, {}, refuse)
    assert [f.key for f in skipped] == ["nachweis"] and form.unsaved_input == {"nachweis": {}}
    _form, errors = resume(spec, answers, form.unsaved_input)
    assert errors == [("nachweis", NOT_SAVED)]


# --- the draft remembers the input (services.drafts) ---------------------------------------------


@pytest.fixture
def draft(db):
    from models import FormDefinition
    from services import drafts
    from services.formdefs import publish_form
    from tests.factories import CitizenFactory, ServiceFactory

    service = ServiceFactory()
    doc = {"schema_version": 1, "title": L("T"), "pages": [
        {"key": "p", "title": L("P"), "fields": [NAME, DATE]},
        {"key": "q", "title": L("Q"), "fields": [CITY]}]}  # fmt: skip
    definition = FormDefinition(service_id=service.id, draft=doc)
    db.session.add(definition)
    db.session.flush()
    publish_form(definition, None)
    return drafts.start_draft(service, CitizenFactory())


TYPED = {"beginn": {"beginn-day": ["31"], "beginn-month": ["2"], "beginn-year": ["2027"]}}


def test_draft_keeps_unsaved_input_until_its_page_is_sent_again(draft):
    from services import drafts
    from services.formdefs import load_spec

    spec = load_spec(draft.form_version)
    page_p = spec.pages[0]
    drafts.save_for_later(draft, spec, page_p, {"name": "Erika"}, [spec.field("beginn")], "", TYPED)
    assert draft.answers == {"name": "Erika"} and draft.last_page == ""  # "Fortsetzen" returns to p
    assert drafts.unsaved_input_of(draft, "p") == TYPED and drafts.unsaved_input_of(draft, "q") == {}
    drafts.save_answers(draft, {"name": "Erika", "ort": "Duisburg"}, "q")  # another page: kept
    assert drafts.unsaved_input_of(draft, "p") == TYPED
    drafts.save_answers(draft, {"name": "Erika", "beginn": "2027-02-28"}, "p")  # p sent again
    assert draft.unsaved_input is None


def test_saving_the_page_for_later_without_problems_forgets_its_unsaved_input(draft):
    from services import drafts
    from services.formdefs import load_spec

    spec = load_spec(draft.form_version)
    drafts.save_for_later(draft, spec, spec.pages[0], {}, [spec.field("beginn")], "", TYPED)
    drafts.save_for_later(draft, spec, spec.pages[0], {"name": "E", "beginn": "2027-02-28"}, [], "", {})
    assert draft.unsaved_input is None and draft.last_page == "p"
