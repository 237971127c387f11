"""Notice templates are untrusted input: no escape from the sandbox, no resource outside the bundle,
answers are always escaped — and nothing is ever fetched (proved with a local server counting hits)."""

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jinja2 import UndefinedError

from services.notices.context import bundled_source
from services.notices.render import RenderFailed, render_pdf
from services.notices.templates import check_template, sample_context
from services.notices.templates_env import TemplateRenderError, render_template
from tests.unit.notice_helpers import issue_notice


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        body = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
        self.send_response(200)
        self.send_header("Content-Type", "image/svg+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def bait_server():
    """A local HTTP server that records every request it receives."""
    _Counter.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Counter.hits
    server.shutdown()
    server.server_close()
    thread.join(5)


SSTI_PAYLOADS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ notice.__class__.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ (1).__class__.__base__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range.__self__ }}",
    "{{ decision.update({'x': 1}) }}",
    "{% include '../base.html' %}",
    "{% extends '../../config.py' %}",
    "{% import 'approval.html' as x %}",
]


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_template_escape_payloads_are_refused(payload):
    with pytest.raises(TemplateRenderError):
        render_template(payload, sample_context("approval"))
    assert check_template("approval", payload) != []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>\n{{ 1/0 }}</p>", "Zeile 2: Die Vorlage löst einen Fehler aus: Division durch null"),
        ("{{ 'x' + 1 }}", "TypeError"),
        ("{{ notice.title.encode('keine') }}", "LookupError: unknown encoding: keine"),
        ("{{ range(3) }}", "range"),
    ],
)
def test_template_python_errors_become_messages(source, expected):
    errors = check_template("approval", source)
    assert len(errors) == 1 and errors[0][0] == "html"
    assert expected in errors[0][1]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "{% extends '_brief.html' %}\n{% block inhalt %}\n<p>x</p>",
            "Zeile 2: Die Vorlage endet, bevor {% block %} geschlossen wurde: es fehlt {% endblock %}.",
        ),
        (
            "{% if notice %}\n{% endfor %}",
            "Zeile 2: {% endfor %} passt hier nicht: zuerst muss {% if %} mit {% endif %} geschlossen "
            "werden.",
        ),
        ("<p>\n{% frobnicate %}", "Zeile 2: Unbekanntes oder überzähliges Tag {% frobnicate %}."),
        ("{{ notice.date | datum }}", "Zeile 1: Unbekannter Filter „datum“. Erlaubt sind: abs,"),
        ("<p>\n{{ reqest.submitted_at | date }}", "Zeile 2: „reqest“ ist nicht definiert. Verfügbar sind:"),
        ("{{ notice.title.shout() }}", "Zeile 1: „shout“ gibt es bei diesem Wert nicht."),
        # a misspelled name or attribute is an error wherever its value is used, not a blank
        ("<p>\n\nName: {{ applicant.nmae }}.</p>", "Zeile 3: „nmae“ gibt es bei diesem Wert nicht."),
        ("{{ foo.bar.baz }}", "Zeile 1: „foo“ ist nicht definiert. Verfügbar sind: answers, applicant,"),
        ("{% for c in decision.condtions %}{{ c }}{% endfor %}", "Zeile 1: „condtions“ gibt es bei"),
        ("{{ decision.text ~ decision.txet }}", "Zeile 1: „txet“ gibt es bei diesem Wert nicht."),
        ("{% if decision.dedline == '2026' %}x{% endif %}", "Zeile 1: „dedline“ gibt es bei"),
        (
            "{% extends '_brief.html' %}{% block inhalt %}\n{{ service.titel }}{% endblock %}",
            "Zeile 2: „titel“ gibt es bei diesem Wert nicht.",
        ),
        ("{{ 1 + }}", "Zeile 1: unexpected 'end of print statement'"),  # rare kinds keep Jinja's text
    ],
)
def test_template_jinja_errors_are_explained_with_line_and_name(app_ctx, source, expected):
    errors = check_template("approval", source)
    assert len(errors) == 1 and errors[0][0] == "html"
    assert errors[0][1].startswith(expected), errors[0][1]
    assert "Jinja" not in errors[0][1] and "is undefined" not in errors[0][1]


@pytest.mark.parametrize(
    "name", ["config", "session", "g", "url_for", "current_user", "get_flashed_messages"]
)
def test_app_globals_are_not_reachable_from_templates(name):
    with pytest.raises(UndefinedError, match=f"'{name}' is undefined"):
        render_template(f"[{{{{ {name} }}}}]", sample_context("fee"))
    assert render_template(f"[{{% if {name} %}}x{{% endif %}}]", sample_context("fee")) == "[]"


def test_template_output_escapes_data():
    context = sample_context("approval")
    context["decision"] = {"text": "<script>alert(1)</script>{{ 7*7 }}"}
    page = render_template(bundled_source("approval"), context)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in page and "<script>" not in page


def _remote_references(base: str) -> list[tuple[str, str]]:
    """(html, css) pairs each referencing one non-bundled resource."""
    body = "<p>x</p>"
    return [
        (f'<img src="{base}/img.svg">{body}', ""),
        (f'<link rel="stylesheet" href="{base}/a.css">{body}', ""),
        (f'<style>@import url("{base}/b.css");</style>{body}', ""),
        (f'<div style="background: url({base}/c.svg)">x</div>', ""),
        (body, f'body {{ background-image: url("{base}/d.svg"); }}'),
        (body, f'@font-face {{ font-family: X; src: url("{base}/e.woff2"); }} p {{ font-family: X; }}'),
        (
            f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{base}/f.svg" width="9"/></svg>',
            "",
        ),
        (f'<object data="{base}/g.svg" type="image/svg+xml"></object>{body}', ""),
        (f'<a rel="attachment" href="{base}/h.txt">Anhang</a>', ""),
        (f'<base href="{base}/"><img src="relative.svg">{body}', ""),
        ('<img src="file:///etc/passwd">' + body, ""),
        (body, 'p { background: url("file:///etc/hostname"); }'),
        (
            '<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=">',
            "",
        ),
        ('<img src="asset:../../../config.py">' + body, ""),
    ]


def test_non_bundled_resources_in_templates_are_refused_and_never_fetched(bait_server):
    base, hits = bait_server
    for html, css in _remote_references(base):
        with pytest.raises(RenderFailed):
            render_pdf(html, css)
        assert check_template("approval", html, css) != [], html
    assert hits == []


def test_bundled_assets_render(bait_server):
    pdf = render_pdf('<p style="font-weight: 700">Fira <img src="asset:brief.css" alt=""></p>')
    assert pdf.startswith(b"%PDF-")


def test_answers_with_payloads_are_printed_literally_and_fetch_nothing(db, bait_server, tmp_path):
    base, hits = bait_server
    evil = f'{{{{ 7*7 }}}} <img src="{base}/answer.svg"> <link rel="stylesheet" href="file:///etc/passwd">'
    _, pdf = issue_notice("receipt", answers={"name": evil}, applicant_name=evil)
    path = tmp_path / "n.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "{{ 7*7 }}" in text and f'<img src="{base}/answer.svg">' in text.replace("\n", " ")
    assert hits == []


@pytest.mark.parametrize(
    "source",
    [
        "{% if decision.nope %}{{ decision.nope.deeper }}{% endif %}",
        "{% if decision.valid_until %}gültig bis {{ decision.valid_until | date }}{% endif %}",
        "{{ decision.nope | default('–') }} {{ nope | default('–') }} {{ decision.nope | d('–') }}",
        "{% if nope is defined %}{{ nope }}{% endif %}{% if decision.nope is undefined %}ok{% endif %}",
        "{{ decision.text if decision.nope else 'ok' }} {{ 'ja' if not applicant.nmae }}",
    ],
)
def test_optional_values_may_be_asked_about(app_ctx, source):
    """Testing, `is defined` and `default` keep working for values a notice may not have."""
    assert check_template("approval", source) == []


@pytest.mark.parametrize("kind", ["approval", "rejection", "information_request", "fee"])
def test_sample_decision_has_every_public_field_of_a_workflow_issuing_the_kind(db, kind):
    """A template may print any key a real decision can carry (the shipped rejection's `reason`)."""
    from services.workflow.definitions import default_document

    decision = sample_context(kind)["decision"]
    for transition in default_document()["transitions"]:
        if {"type": "issue_notice", "kind": kind} in transition.get("effects", []):
            for field in transition.get("fields", []):
                assert not field.get("public") or field["key"] in decision
    source = "{{ decision.valid_until | date }} {{ decision.conditions | join(', ') }}"
    assert check_template(kind, source) == []
