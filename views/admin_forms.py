"""Form designer (/verwaltung/leistungen/<id>/formular): pages, fields, conditions, settings.

Every change goes through services.designer (pure edit + the publishing validator) and is
saved as the draft even when invalid; problems are shown next to the page/field concerned.
Works without JavaScript: reordering uses up/down buttons.
"""

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.admin import (
    CONDITION_ROWS,
    PRIVACY_LABELS,
    TYPE_LABELS,
    ActionForm,
    ConditionJsonForm,
    FieldForm,
    FormSettingsForm,
    PageForm,
    condition_form_class,
)
from forms.dynamic import get_type, type_names
from services import admin_services, designer, scenarios
from services.config_log import N_, LogText
from services.errors import ValidationFailed
from services.json_text import parse_json_text
from services.tx import transaction
from views.admin import actor, load_service_for_admin, require_admin

bp = Blueprint("admin_forms", __name__, url_prefix="/verwaltung/leistungen/<int:service_id>/formular")
bp.before_request(require_admin)
TARGETS = {"seite": "page", "feld": "field"}


def _load(service_id):
    service = load_service_for_admin(service_id)
    return service, admin_services.ensure_definition(service)


def _save(definition, edit: designer.Edit, summary: LogText) -> bool:
    """Store the edited draft unless the operation was refused; flash the outcome."""
    if not edit.ok:
        flash(edit.problem, "error")
        return False
    with transaction():
        admin_services.save_draft(definition, edit.document, actor(), summary, renamed=edit.renamed)
    return True


def _designer_url(service, anchor=None):
    return url_for(".designer", service_id=service.id, _anchor=anchor)


@bp.get("/", endpoint="designer")
def designer_view(service_id):
    return designer_page(service_id)


def designer_page(service_id, page_form=None, status=200):
    service, definition = _load(service_id)
    doc = definition.draft
    errors = designer.locate_errors(doc, designer.validate_definition(doc))
    return render_template(
        "admin/designer.html",
        service=service,
        definition=definition,
        doc=doc,
        outline=designer.outline(doc),
        errors=errors,
        results=scenarios.run_scenarios(definition),
        page_form=page_form or PageForm(formdata=None),
        action_form=ActionForm(),
        type_labels=TYPE_LABELS,
        rows_from_condition=designer.rows_from_condition,
        json=json,
        current="admin_forms.designer",
    ), status


# --- form settings -----------------------------------------------------------------------------


@bp.route("/einstellungen", methods=["GET", "POST"])
def settings(service_id):
    service, definition = _load(service_id)
    doc = definition.draft
    form = FormSettingsForm()
    if not form.is_submitted():
        form.title_de.data = designer.text_of(doc.get("title"), "de")
        form.title_en.data = designer.text_of(doc.get("title"), "en")
        computed = doc.get("computed")
        fee_rule = computed.get("fee_cents") if isinstance(computed, dict) else None
        form.fee_rule.data = (
            json.dumps(fee_rule, ensure_ascii=False, indent=2) if fee_rule is not None else ""
        )
        form.require_latest.data = definition.require_latest
    elif form.validate():
        edit = designer.update_settings(doc, form.title_de.data, form.title_en.data, form.fee_rule.data or "")
        if not edit.ok:
            form.fee_rule.errors = [edit.problem]
        else:
            with transaction():
                admin_services.save_draft(
                    definition, edit.document, actor(), N_("Formulareinstellungen geändert")
                )
                admin_services.set_require_latest(definition, bool(form.require_latest.data), actor())
            _attach_errors(
                form, edit, lambda loc: loc.page is None, {"title": "title_de", "computed": "fee_rule"}
            )
            if not form.errors:
                flash(_("Die Einstellungen sind gespeichert."), "success")
                return redirect(_designer_url(service), 303)
    return render_template(
        "admin/form_settings.html", service=service, form=form, current="admin_forms.designer"
    ), 400 if form.errors else 200


def _attach_errors(form, edit, belongs, mapping=None) -> None:
    """Put the validator's problems that `belongs(location)` at the matching inputs of `form`."""
    for loc in designer.locate_errors(edit.document, edit.errors):
        if not belongs(loc):
            continue
        name = loc.input_id
        if mapping:
            name = mapping.get(loc.attr.split(".")[0].split("[")[0], name)
        target = getattr(form, name, None) or getattr(form, "key", None) or next(iter(form))
        target.errors = [*target.errors, loc.reason]


# --- pages -------------------------------------------------------------------------------------


@bp.post("/seiten")
def page_add(service_id):
    service, definition = _load(service_id)
    form = PageForm()
    if not form.validate():
        return designer_page(service_id, form, 400)
    edit = designer.add_page(definition.draft, form.key.data, form.title_de.data, form.title_en.data)
    if _save(definition, edit, N_("Seite „%(key)s“ hinzugefügt", key=form.key.data)):
        flash(_("Die Seite ist angelegt. Fügen Sie jetzt Felder hinzu."), "success")
    return redirect(_designer_url(service, f"seite-{form.key.data}"), 303)


@bp.route("/seiten/<page_key>", methods=["GET", "POST"])
def page_edit(service_id, page_key):
    service, definition = _load(service_id)
    page = designer.find_page(definition.draft, page_key) or abort(404)
    form = PageForm(
        data={
            "key": page.get("key"),
            "title_de": designer.text_of(page.get("title"), "de"),
            "title_en": designer.text_of(page.get("title"), "en"),
            "help_de": designer.text_of(page.get("help"), "de"),
            "help_en": designer.text_of(page.get("help"), "en"),
        }
    )
    if form.validate_on_submit():
        edit = designer.update_page(
            definition.draft,
            page_key,
            form.key.data,
            form.title_de.data,
            form.title_en.data,
            form.help_de.data,
            form.help_en.data,
        )
        if not edit.ok:
            form.key.errors = [edit.problem]
        elif _save(definition, edit, N_("Seite „%(key)s“ geändert", key=form.key.data)):
            _attach_errors(
                form,
                edit,
                lambda loc: loc.page == form.key.data and loc.field is None,
                {"condition": "key", "fields": "key"},
            )
            if not form.errors:
                flash(_("Die Seite ist gespeichert."), "success")
                return redirect(_designer_url(service, f"seite-{form.key.data}"), 303)
    return render_template(
        "admin/page_form.html", service=service, form=form, page_key=page_key, current="admin_forms.designer"
    ), 400 if form.errors else 200


@bp.post("/seiten/<page_key>/aktion")
def page_action(service_id, page_key):
    service, definition = _load(service_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    action = request.form.get("aktion")
    if action in ("hoch", "runter"):
        edit = designer.move_page(definition.draft, page_key, -1 if action == "hoch" else 1)
        _save(definition, edit, N_("Seite „%(key)s“ verschoben", key=page_key))
    elif action == "loeschen":
        if _save(
            definition,
            designer.delete_page(definition.draft, page_key),
            N_("Seite „%(key)s“ gelöscht", key=page_key),
        ):
            flash(_("Die Seite „%(key)s“ ist gelöscht.", key=page_key), "success")
        return redirect(_designer_url(service), 303)
    return redirect(_designer_url(service, f"seite-{page_key}"), 303)


# --- fields ------------------------------------------------------------------------------------


def _field_template(service, form, ftype, page_key=None, field_key=None, group_key=None, status=200):
    fits = ("", *get_type(ftype).prefill_sources) if ftype in type_names() else ("",)
    form.prefill.choices = [c for c in form.prefill.choices if c.value in fits]
    return render_template(
        "admin/field_form.html",
        service=service,
        form=form,
        ftype=ftype,
        settings=designer.SETTINGS.get(ftype, []),
        page_key=page_key,
        field_key=field_key,
        group_key=group_key,
        type_labels=TYPE_LABELS,
        privacy_labels=PRIVACY_LABELS,
        current="admin_forms.designer",
    ), status


def _field_form(data=None):
    form = FieldForm(data=data)
    if not form.is_submitted() and data is None:
        form.privacy.data = "personal"
    return form


@bp.route("/seiten/<page_key>/felder/neu", methods=["GET", "POST"])
def field_add(service_id, page_key):
    service, definition = _load(service_id)
    designer.find_page(definition.draft, page_key) or abort(404)
    group_key = request.args.get("gruppe") or None
    form = _field_form()
    if not form.is_submitted():
        ftype = request.args.get("typ", "text")
        form.type.data = ftype if ftype in designer.SETTINGS else "text"
    if form.is_submitted() and "typ_wechseln" not in request.form and form.validate():
        edit = designer.add_field(definition.draft, page_key, form.data, group_key)
        if not edit.ok:
            form.key.errors = [edit.problem]
        elif _save(definition, edit, N_("Feld „%(key)s“ hinzugefügt", key=form.key.data)):
            return _after_field_save(service, form, edit)
    status = 400 if form.errors else 200
    return _field_template(
        service, form, form.type.data, page_key=page_key, group_key=group_key, status=status
    )


@bp.route("/felder/<field_key>", methods=["GET", "POST"])
def field_edit(service_id, field_key):
    service, definition = _load(service_id)
    found = designer.find_field(definition.draft, field_key) or abort(404)
    page, field, group = found
    if request.method == "POST":
        form = _field_form()
    else:
        form = _field_form(designer.field_to_data(field))
        _attach_errors(
            form,
            designer.Edit(definition.draft, designer.validate_definition(definition.draft)),
            lambda loc: loc.field == field_key and not loc.attr.startswith(("condition", "fields")),
        )
    if request.method == "POST" and "typ_wechseln" not in request.form and form.validate():
        edit = designer.update_field(definition.draft, field_key, form.data)
        if not edit.ok:
            form.key.errors = [edit.problem]
        elif _save(definition, edit, N_("Feld „%(key)s“ geändert", key=form.key.data)):
            return _after_field_save(service, form, edit)
    status = 400 if form.errors else 200
    return _field_template(
        service,
        form,
        form.type.data,
        page_key=page.get("key"),
        field_key=field_key,
        group_key=group.get("key") if group else None,
        status=status,
    )


def _after_field_save(service, form, edit):
    """Back to the designer when the field is fine; else stay on the form with its problems."""
    _attach_errors(
        form,
        edit,
        lambda loc: loc.field == form.key.data and not loc.attr.startswith(("condition", "fields")),
    )
    if form.errors:
        flash(_("Das Feld ist als Entwurf gespeichert, hat aber noch Fehler."), "warning")
        page, _field, group = designer.find_field(edit.document, form.key.data)
        return _field_template(
            service,
            form,
            form.type.data,
            page_key=page.get("key"),
            field_key=form.key.data,
            group_key=group.get("key") if group else None,
            status=400,
        )
    flash(_("Das Feld „%(label)s“ ist gespeichert.", label=form.label_de.data), "success")
    return redirect(_designer_url(service, f"feld-{form.key.data}"), 303)


@bp.post("/felder/<field_key>/aktion")
def field_action(service_id, field_key):
    service, definition = _load(service_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    action = request.form.get("aktion")
    if action in ("hoch", "runter"):
        edit = designer.move_field(definition.draft, field_key, -1 if action == "hoch" else 1)
        _save(definition, edit, N_("Feld „%(key)s“ verschoben", key=field_key))
        return redirect(_designer_url(service, f"feld-{field_key}"), 303)
    if action == "loeschen" and _save(
        definition,
        designer.delete_field(definition.draft, field_key),
        N_("Feld „%(key)s“ gelöscht", key=field_key),
    ):
        flash(_("Das Feld „%(key)s“ ist gelöscht.", key=field_key), "success")
    return redirect(_designer_url(service), 303)


# --- conditions --------------------------------------------------------------------------------


@bp.route("/<any(seite, feld):target>/<key>/bedingung", methods=["GET", "POST"])
def condition(service_id, target, key):
    service, definition = _load(service_id)
    doc = definition.draft
    kind = TARGETS[target]
    obj = (
        designer.find_page(doc, key) if kind == "page" else (designer.find_field(doc, key) or (None, None))[1]
    )
    if obj is None:
        abort(404)
    choices = [
        (f["key"], f"{designer.text_of(f.get('label'), 'de')} ({f['key']})")
        for f in designer.condition_fields(doc, (kind, key))
    ]
    builder = condition_form_class(choices)(formdata=None)
    json_form = ConditionJsonForm(formdata=None)
    current = obj.get("condition")
    shape = designer.rows_from_condition(current)
    if request.method == "POST":
        mode = request.form.get("modus")
        rule, error_form = _posted_rule(doc, mode, choices)
        if error_form is None:
            edit = designer.set_condition(doc, (kind, key), rule)
            if _save(definition, edit, N_("Bedingung von „%(key)s“ geändert", key=key)):
                problems = [
                    loc
                    for loc in designer.locate_errors(edit.document, edit.errors)
                    if loc.attr.startswith("condition")
                    and (loc.field == key if kind == "field" else loc.page == key and not loc.field)
                ]
                if not problems:
                    flash(_("Die Bedingung ist gespeichert."), "success")
                    return redirect(_designer_url(service, f"{target}-{key}"), 303)
                error_form = json_form = ConditionJsonForm(formdata=None)
                json_form.rule.data = json.dumps(rule, ensure_ascii=False, indent=2)
                json_form.rule.errors = [p.reason for p in problems]
        elif mode == "json":
            json_form = error_form
        else:
            builder = error_form
    elif shape is not None:
        combinator, rows = shape
        builder.combinator.data = combinator
        for i, row in enumerate(rows[:CONDITION_ROWS]):
            builder[f"field_{i}"].data, builder[f"op_{i}"].data = row["field"], row["op"]
            builder[f"value_{i}"].data = row["value"]
    if current is not None and not json_form.rule.data:
        json_form.rule.data = json.dumps(current, ensure_ascii=False, indent=2)
    has_errors = bool(builder.errors or json_form.rule.errors)
    return render_template(
        "admin/condition.html",
        service=service,
        obj=obj,
        kind=kind,
        target=target,
        key=key,
        builder=builder,
        json_form=json_form,
        current_rule=current,
        shape=shape,
        rows=CONDITION_ROWS,
        choices=choices,
        action_form=ActionForm(),
        has_errors=has_errors,
        current="admin_forms.designer",
    ), 400 if has_errors else 200


def _posted_rule(doc, mode, choices):
    """(rule, None) from the posted builder/JSON form, or (None, form with errors)."""
    if mode == "entfernen":
        return None, None
    if mode == "json":
        form = ConditionJsonForm()
        text = (form.rule.data or "").strip()
        if not text:
            return None, None
        try:
            return parse_json_text(text, "rule"), None
        except ValidationFailed as exc:
            form.rule.errors = [exc.message]
            return None, form
    form = condition_form_class(choices)()
    keys = {c[0] for c in choices}
    rows = []
    for i in range(CONDITION_ROWS):
        name = form[f"field_{i}"].data or ""
        if name and name not in keys:
            form[f"field_{i}"].errors = [_("Bitte wählen Sie ein Feld, das vor diesem Element steht.")]
        rows.append({"field": name, "op": form[f"op_{i}"].data, "value": form[f"value_{i}"].data or ""})
    if any(form[f"field_{i}"].errors for i in range(CONDITION_ROWS)):
        return None, form
    try:
        return designer.condition_from_rows(doc, rows, form.combinator.data), None
    except designer.BuilderError as exc:
        form[f"value_{exc.index}"].errors = [exc.message]
        return None, form
