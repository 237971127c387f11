"""The public verification pages: by code (QR link), JSON, PDF upload, published CRLs."""

import io

from cryptography import x509
from flask_babel import refresh

import forms.verify
from tests.conftest import csrf_token_from
from tests.unit.notice_helpers import issue_notice


def _upload(client, data: bytes, name="bescheid.pdf", **kwargs):
    return client.post(
        "/verify", data={"pdf": (io.BytesIO(data), name)}, content_type="multipart/form-data", **kwargs
    )


def test_verify_index_offers_code_and_upload_and_is_linked_in_footer(client):
    resp = client.get("/verify")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'name="code"' in page and 'name="pdf"' in page and 'enctype="multipart/form-data"' in page
    assert 'href="/verify"' in client.get("/").get_data(as_text=True)


def test_code_form_normalises_and_redirects(client):
    resp = client.get("/verify?code=abcd efgh jkmn")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/verify/ABCD-EFGH-JKMN")


def test_code_form_rejects_malformed_code_with_message(client):
    page = client.get("/verify?code=123").get_data(as_text=True)
    assert "Fehler:" in page and "12 Zeichen" in page


def test_unknown_code_is_404_in_html_and_json(client):
    assert client.get("/verify/ABCD-EFGH-JKMN").status_code == 404
    resp = client.get("/verify/ABCD-EFGH-JKMN.json")
    assert resp.status_code == 404 and resp.get_json() == {"valid": False, "error": "unknown_code"}


def test_code_page_shows_notice_facts_without_personal_data(client):
    notice, _ = issue_notice("approval", applicant_name="Zacharias Geheimname", answers={"name": "Zacharias"})
    page = client.get(f"/verify/{notice.verification_code}").get_data(as_text=True)
    assert notice.request.reference in page
    assert notice.request.department.name_de in page
    assert notice.sha256 in page
    assert "Zacharias" not in page


def test_code_page_names_office_and_service_in_the_readers_language(client):
    notice, _ = issue_notice("approval")
    req = notice.request
    refresh()  # the test's app context outlives the request: forget its German locale
    page = client.get(f"/verify/{notice.verification_code}?lang=en").get_data(as_text=True)
    assert req.department.name_en in page and req.service.title_en in page
    assert req.department.name_de not in page and req.service.title_de not in page
    data = client.get(f"/verify/{notice.verification_code}.json").get_json()
    assert (data["department"], data["service"]) == (req.department.name_de, req.service.title_de)


def test_code_json_for_machines(client):
    notice, _ = issue_notice("fee")
    data = client.get(f"/verify/{notice.verification_code}.json").get_json()
    assert data["valid"] is True and data["reference"] == notice.request.reference
    assert data["kind"] == "fee" and data["sha256"] == notice.sha256
    negotiated = client.get(f"/verify/{notice.verification_code}", headers={"Accept": "application/json"})
    assert negotiated.get_json() == data


def test_uploaded_original_is_authentic(client):
    notice, pdf = issue_notice("approval")
    page = _upload(client, pdf).get_data(as_text=True)
    assert "Der Bescheid ist echt und unverändert." in page
    assert notice.request.reference in page


def test_uploaded_tampered_pdf_is_not_confirmed(client):
    _, pdf = issue_notice("rejection")
    at = pdf.index(b"/Title") + 12
    tampered = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    page = _upload(client, tampered).get_data(as_text=True)
    assert "konnte nicht bestätigt werden" in page and "verändert" in page
    assert "echt und unverändert" not in page


def test_upload_rejects_non_pdf_and_oversized_files(client, monkeypatch):
    resp = _upload(client, b"GIF89a not a pdf", name="x.gif")
    assert resp.status_code == 400 and "keine PDF-Datei" in resp.get_data(as_text=True)
    monkeypatch.setattr(forms.verify, "MAX_VERIFY_UPLOAD_BYTES", 100)
    resp = _upload(client, b"%PDF-1.7\n" + b"0" * 200)
    assert resp.status_code == 400 and "zu groß" in resp.get_data(as_text=True)
    resp = client.post("/verify", data={}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "Wählen Sie eine PDF-Datei aus." in resp.get_data(as_text=True)


def test_upload_requires_csrf_token(client, app, monkeypatch):
    _, pdf = issue_notice("approval")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert _upload(client, pdf).status_code == 400
    token = csrf_token_from(client.get("/verify"))
    resp = client.post(
        "/verify",
        data={"pdf": (io.BytesIO(pdf), "b.pdf"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200 and "echt und unverändert" in resp.get_data(as_text=True)


def test_crls_and_root_certificate_are_published(client):
    issue_notice("receipt")  # creates the development PKI
    for name in ("root", "issuing"):
        resp = client.get(f"/verify/pki/{name}.crl")
        assert resp.status_code == 200 and resp.mimetype == "application/pkix-crl"
        assert x509.load_der_x509_crl(resp.data).next_update_utc is not None
    assert client.get("/verify/pki/tsa.crl").status_code == 404
    root = client.get("/verify/pki/root.crt")
    assert "TEST" in x509.load_pem_x509_certificate(root.data).subject.rfc4514_string()
