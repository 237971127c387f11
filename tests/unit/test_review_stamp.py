"""The check-answers page's stamp spares the submit a second validation, and only for what it checked."""

import pytest

import services.submissions as submissions
from forms.dynamic.types import dates
from services import drafts, review_stamp
from services.errors import ValidationFailed
from services.submissions import submit_draft
from tests.factories import CitizenFactory
from tests.unit.test_submissions import VALID, service  # noqa: F401  (the fixture)


@pytest.fixture
def validations(monkeypatch):
    """Counts the submit's full validations (the real function still runs)."""
    calls = []
    real = submissions.validate_answers

    def counting(spec, answers):
        calls.append(dict(answers))
        return real(spec, answers)

    monkeypatch.setattr(submissions, "validate_answers", counting)
    return calls


def _draft(service, answers=VALID):  # noqa: F811
    user = CitizenFactory()
    draft = drafts.start_draft(service, user)
    drafts.save_answers(draft, answers, "nachweis")
    return draft, user


def _stamp(draft):
    return review_stamp.stamp_for(draft, draft.form_version.checksum)


def test_a_valid_stamp_spares_the_second_validation(db, service, validations):  # noqa: F811
    draft, user = _draft(service)
    submitted = submit_draft(draft, user, review_stamp=_stamp(draft))
    assert validations == []
    assert submitted.request.answers == VALID
    assert submitted.request.computed == {"fee_cents": 1500}  # computed values still computed


def test_no_stamp_or_a_forged_one_validates_in_full(db, service, validations):  # noqa: F811
    for stamp in (None, "", "0" * 64, "not-a-stamp", _stamp(_draft(service)[0])):  # the last: another draft's
        draft, user = _draft(service)
        submit_draft(draft, user, review_stamp=stamp)
    assert len(validations) == 5


def test_answers_changed_after_the_review_are_validated_and_refused(db, service, validations):  # noqa: F811
    draft, user = _draft(service)
    stamp = _stamp(draft)
    drafts.save_answers(draft, {**VALID, "vorname": ""}, "person")  # another tab empties a required field
    with pytest.raises(ValidationFailed):
        submit_draft(draft, user, review_stamp=stamp)
    assert len(validations) == 1


def test_a_stamp_from_another_day_validates_again(db, service, validations, monkeypatch):  # noqa: F811
    """A "today" bound of a date field may judge the same answers differently after midnight."""
    draft, user = _draft(service)
    stamp = _stamp(draft)
    tomorrow = dates.today().fromordinal(dates.today().toordinal() + 1)
    monkeypatch.setattr(review_stamp, "today", lambda: tomorrow)
    submit_draft(draft, user, review_stamp=stamp)
    assert len(validations) == 1


def test_a_stamp_is_bound_to_the_secret_key(app, db, service, validations, monkeypatch):  # noqa: F811
    draft, user = _draft(service)
    stamp = _stamp(draft)
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-key-for-another-installation-0123")
    assert not review_stamp.matches(stamp, draft, draft.form_version.checksum)
    submit_draft(draft, user, review_stamp=stamp)
    assert len(validations) == 1
