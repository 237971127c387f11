"""The English catalog is complete, valid and compiled; English pages show no German UI text.

Messages are extracted here exactly as `make babel-extract` does (same babel.cfg, same keywords,
read from the Makefile), so a string added anywhere without an English translation fails this test.
"""

import re
import shlex
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from extensions import db as _db
from extensions import limiter
from tests.factories import DepartmentFactory, ServiceFactory
from tests.support import IsolatedClient

ROOT = Path(__file__).resolve().parents[2]
PO_PATH = ROOT / "translations/en/LC_MESSAGES/messages.po"
MO_PATH = ROOT / "translations/en/LC_MESSAGES/messages.mo"
FIX = "Run `make babel-update`, translate the new entries in translations/en/LC_MESSAGES/messages.po, "
FIX += "then `make babel-compile`."

PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def _extract_keywords() -> dict:
    """The -k options of the babel-extract target, on top of Babel's defaults."""
    recipe = re.search(r"^babel-extract:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, "Makefile has no babel-extract target"
    args = shlex.split(recipe.group(1).replace("\\\n", " "))
    extra = [args[i + 1] for i, arg in enumerate(args) if arg == "-k"]
    assert "_l" in extra, "babel-extract must extract lazy_gettext imported as _l"
    return {**DEFAULT_KEYWORDS, **parse_keywords(extra)}


@cache
def _extracted() -> dict[str, list[str]]:
    """msgid (singular for plurals) -> locations, from the code as it is now."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=_extract_keywords()
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@cache
def _catalog():
    with open(PO_PATH, "rb") as f:
        return read_po(f, locale="en")


def _entries():
    return [m for m in _catalog() if m.id]


def _pairs(message):
    """(source, translation) pairs: one for a plain message, one per plural form otherwise."""
    if isinstance(message.id, tuple):
        singular, plural = message.id
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        return [(singular if i == 0 else plural, s) for i, s in enumerate(strings)]
    return [(message.id, message.string)]


def test_translations_extraction_finds_the_messages():
    found = _extracted()
    assert len(found) > 100
    assert "Leistungen" in found and "Antrag verbindlich absenden" in found  # templates and Python
    assert any(loc.startswith("forms/") for locs in found.values() for loc in locs)  # lazy _l labels
    assert not any(loc.startswith("tests/") for locs in found.values() for loc in locs)


def test_translations_every_message_in_the_code_has_an_english_translation():
    translated = {}
    for message in _entries():
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        translated[key] = all(s.strip() for _, s in _pairs(message))
    missing = [
        f"{msgid!r} ({', '.join(locs[:2])})"
        for msgid, locs in sorted(_extracted().items())
        if not translated.get(msgid)
    ]
    assert not missing, f"{len(missing)} message(s) without English translation. {FIX}\n" + "\n".join(missing)


def test_translations_have_no_fuzzy_entries():
    fuzzy = [m.id for m in _entries() if m.fuzzy]
    assert not _catalog().fuzzy, "the catalog header is marked fuzzy"
    assert not fuzzy, f"fuzzy entries are not compiled; check and unmark them: {fuzzy}"


def test_translations_keep_placeholders_and_html():
    problems = []
    for message in _entries():
        for source, translation in _pairs(message):
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(translation)):
                problems.append(f"placeholders differ: {source!r} -> {translation!r}")
            if sorted(HTML_TAG.findall(source)) != sorted(HTML_TAG.findall(translation)):
                problems.append(f"HTML differs: {source!r} -> {translation!r}")
            # Jinja's newstyle gettext always applies `%`, so a translation must survive it
            names = dict.fromkeys(re.findall(r"%\((\w+)\)", source), 1)
            try:
                translation % names
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"translation breaks %-formatting ({exc}): {translation!r}")
    assert not problems, "\n".join(problems)


def test_translations_compiled_catalog_matches_the_po_file():
    with open(MO_PATH, "rb") as f:
        compiled = read_mo(f)

    def norm(string):  # plural strings are a tuple in the .po and a list in the .mo
        return tuple(string) if isinstance(string, tuple | list) else string

    stale = [m.id for m in _entries() if norm(getattr(compiled.get(m.id), "string", None)) != norm(m.string)]
    assert not stale, f"messages.mo is out of date (run `make babel-compile`): {stale[:10]}"


# German UI text that must not appear on English pages (visible text only, whole words).
GERMAN_UI = [
    "Leistungen",
    "Anmelden",
    "Registrieren",
    "Zum Inhalt springen",
    "Barrierefreiheit",
    "Datenschutz",
    "Leistung suchen",
    "Gruppieren nach",
    "Thema",
    "Suchen",
    "Zuständige Stelle",
]


@pytest.fixture
def isolated_client(app, db, monkeypatch):
    """Fresh app context per request, so the locale chosen by ?lang is not cached across requests."""
    limiter.reset()
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)
    return app.test_client()


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _german_words_in(text: str) -> list[str]:
    return [w for w in GERMAN_UI if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]


@pytest.mark.parametrize("path", ["/", "/leistungen", "/leistungen/bewohnerparkausweis", "/anmelden"])
def test_translations_english_pages_show_no_german_ui_text(isolated_client, path):
    dept = DepartmentFactory(
        name_de="Straßenverkehrsamt", name_en="Road Traffic Office", phone="0203 283-4550"
    )
    ServiceFactory(slug="bewohnerparkausweis", department=dept, title_en="Residents' parking permit")
    _db.session.commit()

    german = _visible_text(isolated_client.get(path + "?lang=de").get_data(as_text=True))
    english = _visible_text(isolated_client.get(path + "?lang=en").get_data(as_text=True))

    assert _german_words_in(german), "the German page should show some of the listed words"
    assert not _german_words_in(english), f"German UI text on the English page {path}"
    assert "Services" in english and "Skip to main content" in english


def test_translations_account_emails_follow_the_user_language(db):
    from services import mail
    from tests.factories import CitizenFactory

    for template in ("auth_confirm", "auth_reset", "auth_password_changed"):
        subject_en, body_en, _html, _ = mail.render_mail(template, CitizenFactory(locale="en"))
        subject_de, body_de, _html, _ = mail.render_mail(template, CitizenFactory(locale="de"))
        assert subject_en != subject_de and "Guten Tag" in body_de
        assert "Guten Tag" not in body_en and "Mit freundlichen Grüßen" not in body_en
        assert "Kind regards" in body_en, body_en
