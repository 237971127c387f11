"""Domain errors raised without a message still say something a user can read, in their language."""

from flask_babel import force_locale

from services.errors import NotFound, PermissionDenied, StaleObject


def test_errors_without_a_message_carry_their_translated_default(app_ctx):
    assert PermissionDenied().message == "Dazu fehlt Ihnen die Berechtigung."
    assert PermissionDenied("Eigener Text.").message == "Eigener Text."
    with force_locale("en"):
        assert NotFound().message == "Not found."
        assert str(StaleObject()).startswith("This was changed by someone else")
