"""Headers on every response; NUL bytes in URLs are refused before any view runs."""


def test_pages_carry_security_headers(client):
    resp = client.get("/")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_nul_byte_in_path_id_is_404(client):
    assert client.get("/antraege/abc%00def").status_code == 404
    assert client.get("/sachbearbeitung/antraege/abc%00").status_code == 404


def test_nul_byte_in_query_is_400(client):
    assert client.get("/leistungen?q=a%00b").status_code == 400
