"""Form release tools: preview, publish, versions + diff, scenarios, JSON import/export.

The preview renders the draft with the citizen's page layout and field macros but never
creates drafts, requests or attachments: answers live in the session (per service) and
uploaded files are only described (name, size, checksum), never stored.
"""

import hashlib
import secrets

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from werkzeug.datastructures import CombinedMultiDict

from extensions import db
from forms.admin import ActionForm, ImportForm, PublishForm, ScenarioForm, choice_list
from forms.dynamic import (
    PageInvalid,
    accept_of,
    build_page_form,
    extract_page_answers,
    form_error_pairs,
    format_answers,
    max_bytes_of,
    page_action,
    remove_file_answer,
    validate_answers,
    visible_pages,
)
from models import Department, FormScenario
from services import admin_config, admin_services, designer, form_versions, scenarios, uploads
from services.config_log import N_
from services.errors import InvalidDefinition, ValidationFailed
from services.formdefs import load_spec
from services.tx import transaction
from views.access import get_or_404
from views.admin import actor, apply_error, load_service_for_admin, locale, require_admin

bp = Blueprint("admin_release", __name__, url_prefix="/verwaltung/leistungen/<int:service_id>/formular")
bp.before_request(require_admin)
PREVIEW_KEY = "admin_preview"
MAX_LISTED_ERRORS = 10


def _load(service_id):
    service = load_service_for_admin(service_id)
    return service, admin_services.ensure_definition(service)


# --- preview -----------------------------------------------------------------------------------


def _preview_answers(service) -> dict:
    return dict((session.get(PREVIEW_KEY) or {}).get(str(service.id)) or {})


def _store_preview(service, answers: dict) -> None:
    store = dict(session.get(PREVIEW_KEY) or {})
    store[str(service.id)] = answers
    session[PREVIEW_KEY] = store


def _preview_spec(service, definition):
    errors = designer.validate_definition(definition.draft)
    if errors:
        return None, errors
    return load_spec(definition.draft), []


def _preview_store(spec):
    """store_file for the preview: the citizen's checks (size, sniffed type), but nothing is stored."""

    def store(path, file):
        field = spec.field(path)
        data, mime = uploads.read_upload(file, max_bytes=max_bytes_of(field), allowed=accept_of(field))
        return {
            "id": "vorschau-" + secrets.token_hex(8),
            "name": uploads.clean_filename(file.filename),
            "size": len(data),
            "mime": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
        }

    return store


@bp.get("/vorschau", endpoint="preview")
def preview_start(service_id):
    service, definition = _load(service_id)
    spec, errors = _preview_spec(service, definition)
    if spec is None:
        return render_template(
            "admin/preview_invalid.html",
            service=service,
            errors=designer.locate_errors(definition.draft, errors),
            current="admin_release.preview",
        ), 400
    pages = visible_pages(spec, _preview_answers(service))
    return redirect(url_for(".preview_page", service_id=service.id, page_key=pages[0].key))


@bp.post("/vorschau/neu")
def preview_reset(service_id):
    service, _definition = _load(service_id)
    if ActionForm().validate_on_submit():
        _store_preview(service, {})
        flash(_("Die Vorschau beginnt von vorn; alle Antworten sind verworfen."), "success")
    return redirect(url_for(".preview", service_id=service.id), 303)


@bp.route("/vorschau/seite/<page_key>", methods=["GET", "POST"])
def preview_page(service_id, page_key):
    service, definition = _load(service_id)
    spec, _errors = _preview_spec(service, definition)
    if spec is None:
        return redirect(url_for(".preview", service_id=service.id))
    answers = _preview_answers(service)
    pages = visible_pages(spec, answers)
    page = next((p for p in pages if p.key == page_key), None) or abort(404)
    if request.method == "GET":
        form = build_page_form(spec, page, answers, locale())
        return _render_preview_page(service, spec, pages, page, form)
    form = build_page_form(
        spec, page, answers, locale(), formdata=CombinedMultiDict([request.form, request.files])
    )
    action = page_action(request.form)
    if action is not None:
        if action[0] == "remove_file":
            _store_preview(service, remove_file_answer(spec, answers, action[1])[0])
            return redirect(url_for(".preview_page", service_id=service.id, page_key=page.key), 303)
        return _render_preview_page(service, spec, pages, page, form)
    try:
        answers = extract_page_answers(spec, page, form, answers, _preview_store(spec))
    except PageInvalid as exc:
        _store_preview(service, exc.answers)
        return _render_preview_page(service, spec, pages, page, exc.form, 400)
    _store_preview(service, answers)
    keys = [p.key for p in visible_pages(spec, answers)]
    index = keys.index(page.key) if page.key in keys else -1
    if index + 1 >= len(keys):
        return redirect(url_for(".preview_review", service_id=service.id), 303)
    return redirect(url_for(".preview_page", service_id=service.id, page_key=keys[index + 1]), 303)


def _render_preview_page(service, spec, pages, page, form, status=200):
    index = pages.index(page)
    back = (
        url_for(".preview_page", service_id=service.id, page_key=pages[index - 1].key)
        if index
        else url_for("admin_forms.designer", service_id=service.id)
    )
    return render_template(
        "admin/preview_page.html",
        service=service,
        page=page,
        form=form,
        errors=list(form_error_pairs(form)),
        step=index + 1,
        steps=len(pages),
        back_url=back,
        locale=locale(),
        action_form=ActionForm(),
    ), status


@bp.route("/vorschau/pruefen", methods=["GET", "POST"])
def preview_review(service_id):
    service, definition = _load(service_id)
    spec, _errors = _preview_spec(service, definition)
    if spec is None:
        return redirect(url_for(".preview", service_id=service.id))
    answers = _preview_answers(service)
    form = ScenarioForm(formdata=request.form if request.method == "POST" else None)
    outcome = scenarios.outcome(service, definition.draft, answers)
    if request.method == "POST" and form.validate():
        expected = {"pages": outcome.pages, "fee_cents": outcome.fee_cents, "department": outcome.department}
        with transaction():
            summary = N_("Szenario „%(name)s“ aus der Vorschau gespeichert", name=form.name.data)
            scenarios.save_scenario(definition, form.name.data, answers, expected, actor(), summary)
        flash(_("Das Szenario „%(name)s“ ist gespeichert.", name=form.name.data), "success")
        return redirect(url_for(".scenarios", service_id=service.id), 303)
    department = db.session.query(Department).filter_by(slug=outcome.department).one()
    return render_template(
        "admin/preview_review.html",
        service=service,
        sections=format_answers(spec, answers, locale(), "html"),
        problems=validate_answers(spec, answers),
        pages={p.key: p for p in visible_pages(spec, answers)},
        fee_text=format_currency(outcome.fee_cents / 100, "EUR") if outcome.fee_cents else None,
        department=department,
        form=form,
        action_form=ActionForm(),
        locale=locale(),
        has_errors=bool(form.errors),
    ), 400 if form.errors else 200


# --- publish, versions, diff -------------------------------------------------------------------


@bp.route("/veroeffentlichen", methods=["GET", "POST"])
def publish(service_id):
    service, definition = _load(service_id)
    form = PublishForm()
    problem, failed = None, []
    if form.validate_on_submit():
        try:
            with transaction():
                version = admin_services.publish_definition(definition, actor(), form.change_note.data)
        except InvalidDefinition as exc:
            problem = exc.message
        except ValidationFailed as exc:
            problem, failed = exc.message, exc.details.get("results") or []
        else:
            flash(
                _(
                    "Version %(n)s ist veröffentlicht. Neue Anträge verwenden sie ab sofort.",
                    n=version.number,
                ),
                "success",
            )
            if not service.active:  # new services start inactive (docs/contracts/README.md)
                flash(_("Die Leistung ist noch nicht aktiv: Im Katalog erscheint sie erst, wenn Sie in den "
                        "Einstellungen der Leistung „Leistung ist aktiv“ ankreuzen."), "info")
            return redirect(url_for(".versions", service_id=service.id), 303)
    latest = definition.latest
    doc = definition.draft
    return render_template(
        "admin/publish.html",
        service=service,
        definition=definition,
        form=form,
        problem=problem,
        errors=designer.locate_errors(doc, designer.validate_definition(doc)),
        results=scenarios.run_scenarios(definition),
        failed=failed,
        latest=latest,
        diff=form_versions.diff_documents(latest.document, doc) if latest else None,
        renamed_rules=admin_config.rules_to_rename(service, definition.draft_renames or {}),
        broken_rules=admin_config.rules_missing_fields(service, doc, definition.draft_renames),
        has_errors=bool(form.errors or problem),
        current="admin_release.versions",
    ), 400 if (form.errors or problem) else 200


@bp.get("/versionen", endpoint="versions")
def versions_list(service_id):
    service, definition = _load(service_id)
    return render_template(
        "admin/versions.html",
        service=service,
        definition=definition,
        versions=form_versions.versions_of(definition),
        current="admin_release.versions",
    )


@bp.get("/versionen/vergleich")
def diff(service_id):
    service, definition = _load(service_id)
    old_doc, old_label = _doc_for(definition, request.args.get("von", ""))
    new_doc, new_label = _doc_for(definition, request.args.get("bis", "entwurf"))
    return render_template(
        "admin/diff.html",
        service=service,
        diff=form_versions.diff_documents(old_doc, new_doc),
        old_label=old_label,
        new_label=new_label,
        current="admin_release.versions",
    )


def _doc_for(definition, ref: str):
    if ref == "entwurf":
        return definition.draft, _("Entwurf")
    if not ref.isdigit():
        abort(404)
    version = form_versions.find_version(definition, int(ref)) or abort(404)
    return version.document, _("Version %(n)s", n=version.number)


# --- export / import ---------------------------------------------------------------------------


@bp.get("/export")
def export(service_id):
    service, definition = _load(service_id)
    ref = request.args.get("version", "entwurf")
    doc, _label = _doc_for(definition, ref)
    name = f"{service.slug}-{'entwurf' if ref == 'entwurf' else 'v' + ref}.json"
    return Response(
        designer.export_json(doc),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/import", methods=["GET", "POST"], endpoint="import_form")
def import_definition(service_id):
    service, definition = _load(service_id)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        text = upload.read().decode("utf-8", errors="replace") if upload else (form.text.data or "")
        if not text.strip():
            form.text.errors = [_("Bitte wählen Sie eine JSON-Datei aus oder fügen Sie JSON ein.")]
        else:
            try:
                with transaction():
                    problems = admin_services.import_definition(definition, text, actor())
            except ValidationFailed as exc:
                apply_error(form, exc, "text")
            except InvalidDefinition as exc:
                form.text.errors = _import_refused(exc.errors)
            else:
                if problems:
                    flash(
                        _(
                            "Importiert. Der Entwurf hat %(n)s Problem(e); sie sind unten aufgeführt.",
                            n=len(problems),
                        ),
                        "warning",
                    )
                else:
                    flash(_("Importiert. Der Entwurf ist gültig."), "success")
                return redirect(url_for("admin_forms.designer", service_id=service.id), 303)
    return render_template("admin/import.html", service=service, form=form, current="admin_forms.designer"), (
        400 if form.errors else 200
    )


def _import_refused(errors: list) -> list[str]:
    """Messages for an import the designer could not show: what and where (the first few)."""
    messages = [_("Nicht importiert: Der Designer kann dieses Dokument nicht darstellen.")]
    messages += [f"{path}: {reason}." for path, reason in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        messages.append(_("… und %(n)s weitere", n=len(errors) - MAX_LISTED_ERRORS))
    return messages


# --- scenarios ---------------------------------------------------------------------------------


def _department_choices():
    departments = db.session.query(Department).order_by(Department.name_de).all()
    return choice_list([("", _("– nicht prüfen –"))] + [(d.slug, d.name(locale())) for d in departments])


@bp.route("/szenarien", methods=["GET", "POST"], endpoint="scenarios")
def scenarios_view(service_id):
    service, definition = _load(service_id)
    form = ScenarioForm()
    form.department.choices = _department_choices()
    if form.validate_on_submit():
        try:
            answers = scenarios.parse_answers(form.answers.data)
            expected = scenarios.parse_expected(
                form.pages.data or "", form.fee_cents.data or "", form.department.data or ""
            )
        except ValidationFailed as exc:
            apply_error(form, exc, "answers")
        else:
            with transaction():
                scenarios.save_scenario(definition, form.name.data, answers, expected, actor())
            flash(_("Das Szenario ist gespeichert."), "success")
            return redirect(url_for(".scenarios", service_id=service.id), 303)
    return render_template(
        "admin/scenarios.html",
        service=service,
        form=form,
        results=scenarios.run_scenarios(definition),
        action_form=ActionForm(),
        has_errors=bool(form.errors),
        current="admin_release.scenarios",
    ), 400 if form.errors else 200


@bp.post("/szenarien/<int:scenario_id>/loeschen")
def scenario_delete(service_id, scenario_id):
    service, definition = _load(service_id)
    scenario = get_or_404(FormScenario, scenario_id, definition_id=definition.id)
    if ActionForm().validate_on_submit():
        with transaction():
            scenarios.delete_scenario(scenario, actor())
        flash(_("Das Szenario ist gelöscht."), "success")
    return redirect(url_for(".scenarios", service_id=service.id), 303)
