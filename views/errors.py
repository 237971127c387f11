"""Error pages (404/403/500 and friends) and domain errors turned into responses."""

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from services.errors import DomainError


def _wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status, title, text):
    if _wants_json():
        return jsonify(error=title, status=status), status
    return render_template("errors/error.html", status=status, title=title, text=text), status


def register(app):
    @app.errorhandler(HTTPException)
    def http_error(exc):
        texts = {
            400: (
                _("Ungültige Anfrage"),
                _("Die Anfrage konnte nicht verarbeitet werden. Bitte prüfen Sie Ihre Eingaben."),
            ),
            403: (_("Kein Zugriff"), _("Sie haben keine Berechtigung für diese Seite.")),
            404: (
                _("Seite nicht gefunden"),
                _("Die Seite existiert nicht oder Sie haben keinen Zugriff darauf."),
            ),
            405: (_("Nicht erlaubt"), _("Diese Aktion ist hier nicht möglich.")),
            409: (
                _("Konflikt"),
                _("Die Daten wurden zwischenzeitlich geändert. Bitte laden Sie die Seite neu."),
            ),
            413: (_("Datei zu groß"), _("Die gesendeten Daten sind zu groß.")),
            429: (
                _("Zu viele Versuche"),
                _("Bitte warten Sie einen Moment und versuchen Sie es dann erneut."),
            ),
        }
        title, text = texts.get(exc.code, (exc.name, exc.description))
        return _render(exc.code or 500, title, text)

    @app.errorhandler(DomainError)
    def domain_error(exc):
        return _render(exc.status, _("Aktion nicht möglich"), exc.message)

    @app.errorhandler(500)
    def server_error(exc):
        return _render(
            500,
            _("Technischer Fehler"),
            _(
                "Es ist ein Fehler aufgetreten. Ihre gespeicherten Angaben sind nicht verloren. "
                "Bitte versuchen Sie es später erneut."
            ),
        )
