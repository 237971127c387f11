"""Browser fixtures: a live server on the test app and Playwright driving Debian's chromium.

Never `playwright install`: the browser is `/usr/bin/chromium` (system package). Reusable by every
area: `live_server` (base URL), `browser`, `page`, `browser_login(page, user)` and
`assert_no_axe_violations(page)` (axe-core vendored in tests/browser/vendor, WCAG 2.1 A/AA).
"""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.factories import PASSWORD

CHROMIUM = os.environ.get("AMTSWEG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(app):
    """The session's test app served on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, db):
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server, locale="de-DE")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda msg: _note_csp(page, msg))
    yield page
    context.close()


def _note_csp(page, msg):
    if "Content Security Policy" in msg.text:
        page.csp_violations.append(msg.text)


@pytest.fixture
def browser_login():
    """Log `user` in through the real login form in the browser (the session is bound to the browser)."""

    def _login(page, user, password=PASSWORD):
        from extensions import db

        db.session.commit()  # the server thread must see the user
        page.goto("/anmelden")
        page.fill('[name="email"]', user.email)
        page.fill('[name="password"]', password)
        page.locator("main form").get_by_role("button", name="Anmelden").click()
        page.wait_for_load_state()
        assert "/anmelden" not in page.url, f"login failed: {page.url}"
        return user

    return _login


def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the current page and return its violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)  # evaluate, not a <script> tag: the page's CSP stays in force
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return result["violations"]


def format_violations(violations) -> str:
    lines = []
    for v in violations:
        targets = [", ".join(node["target"]) for node in v["nodes"][:5]]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} -> {targets}")
    return "\n".join(lines)


@pytest.fixture
def assert_no_axe_violations():
    """Call with a page: fails listing every WCAG 2.1 AA violation axe-core finds."""

    def _check(page):
        violations = axe_violations(page)
        assert not violations, f"axe violations on {page.url}:\n{format_violations(violations)}"
        assert not page.csp_violations, f"CSP violations on {page.url}: {page.csp_violations}"

    return _check
