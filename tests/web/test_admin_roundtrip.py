"""Round trip: export every seeded definition, import it into a new service, publish, submit a request."""

import json
import re

import pytest
from sqlalchemy import select

from models import FormVersion, MembershipRole, Service, ServiceRequest
from services.formdefs import load_spec
from tests.factories import CitizenFactory, clerk_of
from tests.web.journey import SEEDED_JOURNEYS, fill_all_pages, seeded, start_draft  # noqa: F401


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("slug", sorted(SEEDED_JOURNEYS))
def test_admin_roundtrip_export_import_publish_submit(client, db, login_as, slug):
    original = db.session.scalar(select(Service).where(Service.slug == slug))
    login_as(clerk_of(original.department, MembershipRole.ADMIN))
    admin = client  # one client: the admin first, then (after logging out) the citizen
    exported = admin.get(
        f"/verwaltung/leistungen/{original.id}/formular/export?version="
        f"{original.form_definition.latest.number}"
    )
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    document = json.loads(exported.data)
    assert document == original.form_definition.latest.document

    resp = admin.post(
        f"/verwaltung/aemter/{original.department_id}/leistungen/neu",
        data={
            "title_de": f"Kopie {original.title_de}",
            "title_en": "Copy",
            "fee": str(original.fee_cents / 100),
            "processing_days": "14",
            "retention_years": "10",
            "login_required": "y",
            "active": "y",
        },
    )
    assert resp.status_code == 303
    service_id = int(re.search(r"/leistungen/(\d+)/", resp.headers["Location"]).group(1))
    base = f"/verwaltung/leistungen/{service_id}/formular"
    resp = admin.post(base + "/import", data={"text": exported.get_data(as_text=True)})
    assert resp.status_code == 303
    assert "Der Entwurf ist gültig" in admin.get(base + "/").get_data(as_text=True)
    for page in document["pages"]:  # every editor page renders every seeded field type
        assert admin.get(f"{base}/seiten/{page['key']}").status_code == 200
        assert admin.get(f"{base}/seite/{page['key']}/bedingung").status_code == 200
        for field in page["fields"]:
            for key in [field["key"]] + [c["key"] for c in field.get("fields", [])]:
                assert admin.get(f"{base}/felder/{key}").status_code == 200, key
                assert admin.get(f"{base}/feld/{key}/bedingung").status_code == 200, key
    resp = admin.post(base + "/veroeffentlichen", data={"change_note": "Import aus " + slug})
    assert resp.status_code == 303, resp.get_data(as_text=True)[-3000:]

    copy = db.session.get(Service, service_id)
    version = db.session.scalar(
        select(FormVersion).where(FormVersion.definition_id == copy.form_definition.id)
    )
    assert version.document == document and version.number == 1
    assert client.post("/abmelden").status_code in (302, 303)
    login_as(CitizenFactory(full_name="Erika Mustermann"))
    answers, files, _fee = SEEDED_JOURNEYS[slug]
    draft_id = start_draft(client, copy.slug)
    assert fill_all_pages(client, draft_id, load_spec(version), answers, files).endswith("/pruefen")
    done = client.post(f"/antrag/{draft_id}/absenden", data={"declaration": "y"})
    assert done.status_code == 302 and "/bestaetigung" in done.headers["Location"]
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.service_id == copy.id))
    assert req.form_version_id == version.id
    expected = {k: v for k, v in answers.items() if v not in ("", None) and k in req.answers}
    assert expected and {k: req.answers[k] for k in expected} == expected
