"""HTTP-level property test: random and hostile values posted to every page of every seeded form.

Whatever arrives, a page answers with a redirect (valid input saved) or re-renders with an error
summary (400) — never a 500, never a lost draft.
"""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms.dynamic import page_item_counts, visible_pages
from forms.dynamic.builder import answers_to_formdata
from models import Draft
from services.formdefs import load_spec
from tests.web.journey import SEEDED_SERVICES, seeded, seeded_citizen, start_draft

FIXTURES = (seeded, seeded_citizen)  # imported for pytest

HOSTILE = [
    "",
    " ",
    "\x00",
    "\x1b[31m",
    "<script>alert(1)</script>",
    "9" * 400,
    "-1",
    "0",
    "1e309",
    "NaN",
    "2026-02-30",
    "31",
    "13",
    "DE00 0000 0000",
    "DE89370400440532013000",
    "'; DROP TABLE users;--",
    "\u202e\u0645",
    "😀" * 50,
    "47051",
    "ja",
    "nein",
    "true",
    "a" * 5000,
    "{{7*7}}",
    "%(x)s",
    "999",
    "1:0",
]
VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80))
EXTRA_KEYS = ["add_item", "remove_item", "remove_file", "weiter", "spaeter", "unbekannt"]


def _field_names(page, answers):
    counts = page_item_counts(page, answers)
    bigger = {key: n + 1 for key, n in counts.items()}
    names = set(answers_to_formdata(page, answers, counts)) | set(answers_to_formdata(page, {}, bigger))
    return sorted(names)


@pytest.mark.parametrize("slug", SEEDED_SERVICES)
@pytest.mark.usefixtures("seeded_citizen")
def test_hostile_posts_never_fail_the_page(client, db, slug):
    draft_id = start_draft(client, slug)
    draft = db.session.scalar(db.select(Draft).where(Draft.public_id == draft_id))
    spec = load_spec(draft.form_version)
    for page in list(spec.pages):
        _fuzz_page(client, db, spec, draft, page)
    assert db.session.get(Draft, draft.id) is not None


def _fuzz_page(client, db, spec, draft, page):
    names = _field_names(page, draft.answers) + EXTRA_KEYS
    url = f"/antrag/{draft.public_id}/{page.key}"
    values = st.lists(VALUES, min_size=1, max_size=3)

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.dictionaries(st.sampled_from(names), values, max_size=12))
    def post_random(data):
        resp = client.post(url, data=data)
        body = resp.get_data(as_text=True)
        assert resp.status_code in (200, 302, 400, 404), (resp.status_code, data)
        if resp.status_code == 400:
            assert "Es gibt ein Problem" in body
            assert re.search(r"<title>\s*Fehler: ", body)
        if resp.status_code == 404:  # only a page hidden by the current answers may vanish
            db.session.expire_all()
            current = db.session.get(Draft, draft.id).answers
            assert page.key not in [p.key for p in visible_pages(spec, current)]

    post_random()
