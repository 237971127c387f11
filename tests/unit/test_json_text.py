"""The admin editors' JSON parser names the line and column of a mistake, in the UI language."""

import pytest
from flask_babel import force_locale

from services.errors import ValidationFailed
from services.json_text import parse_json_text


def test_parse_json_text_returns_the_value(app_ctx):
    assert parse_json_text('{"a": [1, 2]}', "rule") == {"a": [1, 2]}


def test_parse_json_text_names_line_column_and_field(app_ctx):
    with pytest.raises(ValidationFailed) as err:
        parse_json_text('{\n  "a": }', "document")
    assert "Zeile 2, Spalte 8" in err.value.message
    assert err.value.details == {"field": "document"}


def test_parse_json_text_message_follows_the_ui_language(app_ctx):
    with force_locale("en"), pytest.raises(ValidationFailed) as err:
        parse_json_text("[1,", "rule")
    assert "line 1" in err.value.message.lower() and "Zeile" not in err.value.message


@pytest.mark.parametrize(
    ("text", "german"),
    [
        ('{\n  "a": }', "hier wird ein Wert erwartet"),
        ('{"a": 1 "b": 2}', "hier fehlt ein Komma"),
        ("{a: 1}", "Name in doppelten Anführungszeichen"),
        ("1 2", "nach dem Ende des JSON"),
        ('"offen', "wird nicht geschlossen"),
    ],
)
def test_parse_json_text_explains_the_mistake_in_the_ui_language(app_ctx, text, german):
    """Python's English reasons ("Expecting value") do not stand inside German messages."""
    with pytest.raises(ValidationFailed) as err:
        parse_json_text(text, "rule")
    assert german in err.value.message and "Expecting" not in err.value.message
    with force_locale("en"), pytest.raises(ValidationFailed) as err:
        parse_json_text(text, "rule")
    assert german not in err.value.message


@pytest.mark.parametrize("text", ['{"a":' * 5000, "[" * 5000 + "]" * 5000, "[" * 65 + "]" * 65])
def test_parse_json_text_refuses_deep_nesting(app_ctx, text):
    with pytest.raises(ValidationFailed) as err:
        parse_json_text(text, "rule")
    assert "zu tief verschachtelt (höchstens 64 Ebenen)" in err.value.message
    assert err.value.details == {"field": "rule"}
    assert parse_json_text("[" * 64 + "]" * 64, "rule") is not None


def test_parse_json_text_refuses_huge_text(app_ctx):
    with pytest.raises(ValidationFailed) as err:
        parse_json_text('"' + "x" * 2_000_000 + '"', "document")
    assert "zu lang" in err.value.message
