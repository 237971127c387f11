"""Routing rules (+ tester), workflow choice/copy/edit and notice templates of one service."""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from extensions import db
from forms.admin import (
    CONDITION_ROWS,
    ActionForm,
    NoticeTemplateForm,
    PublishForm,
    RoutingRuleForm,
    RoutingTestForm,
    WorkflowChooseForm,
    WorkflowCopyForm,
    WorkflowEditForm,
    choice_list,
    condition_form_class,
)
from models import Department, RoutingRule, WorkflowDefinition
from services import admin_config, admin_services, designer, scenarios
from services.errors import InvalidDefinition, ValidationFailed
from services.json_text import parse_json_text
from services.notices import NOTICE_KINDS, notice_title
from services.notices.context import bundled_source
from services.notices.preview import preview_context
from services.notices.templates import get_template
from services.tx import transaction
from services.workflow import describe_path, test_routing, validate_workflow
from services.workflow.routing import routing_rules
from views.access import get_or_404
from views.admin import actor, apply_error, load_service_for_admin, locale, require_admin

bp = Blueprint("admin_config", __name__, url_prefix="/verwaltung/leistungen/<int:service_id>")
bp.before_request(require_admin)


def _form_document(service):
    definition = admin_services.ensure_definition(service)
    return definition.latest.document if definition.latest else definition.draft


# --- routing -----------------------------------------------------------------------------------


@bp.get("/zustaendigkeit")
def routing(service_id):
    return _routing_page(load_service_for_admin(service_id))


def _routing_page(service, test_form=None, result=None, status=200):
    return render_template(
        "admin/routing.html",
        service=service,
        rules=routing_rules(service),
        test_form=test_form or RoutingTestForm(formdata=None),
        result=result,
        action_form=ActionForm(),
        json=json,
        rows_from_condition=designer.rows_from_condition,
        broken_rules={
            rule.id: missing
            for rule, missing in admin_config.rules_missing_fields(service, _form_document(service))
        },
        value_problems=admin_config.rules_with_unknown_option_values(service, _form_document(service)),
        pending_renames=admin_config.rules_to_rename(
            service, admin_services.ensure_definition(service).draft_renames or {}
        ),
        current="admin_config.routing",
        has_errors=bool(test_form and test_form.errors),
    ), status


@bp.post("/zustaendigkeit/test")
def routing_test(service_id):
    service = load_service_for_admin(service_id)
    form = RoutingTestForm()
    if form.validate():
        try:
            answers = scenarios.parse_answers(form.answers.data)
        except ValidationFailed as exc:
            apply_error(form, exc, "answers")
        else:
            return _routing_page(service, form, test_routing(service, answers))
    return _routing_page(service, form, status=400)


def _rule_forms(service, rule=None):
    doc = _form_document(service)
    choices = admin_config.routing_fields(doc)
    builder = condition_form_class(choices)(formdata=request.form if request.method == "POST" else None)
    form = RoutingRuleForm(formdata=request.form if request.method == "POST" else None)
    form.department.choices = choice_list(
        [("", _("– bitte wählen –"))] + [(d.slug, d.name(locale())) for d in admin_config.routing_targets()]
    )
    if request.method == "GET" and rule is not None:
        form.label.data, form.department.data = rule.label, rule.department.slug
        form.rule.data = json.dumps(rule.condition, ensure_ascii=False, indent=2)
        shape = designer.rows_from_condition(rule.condition)
        if shape:
            builder.combinator.data = shape[0]
            for i, row in enumerate(shape[1][:CONDITION_ROWS]):
                builder[f"field_{i}"].data, builder[f"op_{i}"].data = row["field"], row["op"]
                builder[f"value_{i}"].data = row["value"]
    return doc, choices, builder, form


@bp.route("/zustaendigkeit/regeln/neu", methods=["GET", "POST"], endpoint="rule_new")
@bp.route("/zustaendigkeit/regeln/<int:rule_id>", methods=["GET", "POST"])
def rule_edit(service_id, rule_id=None):
    service = load_service_for_admin(service_id)
    rule = _load_rule(service, rule_id) if rule_id else None
    doc, choices, builder, form = _rule_forms(service, rule)
    if request.method == "POST" and form.validate() and builder.validate():
        try:
            condition = (
                admin_config.parse_rule(form.rule.data)
                if request.form.get("modus") == "json"
                else designer.condition_from_rows(doc, _rows(builder), builder.combinator.data)
            )
            department = db.session.query(Department).filter_by(slug=form.department.data).first()
            with transaction():
                admin_config.save_rule(service, rule, form.label.data or "", condition, department, actor())
        except designer.BuilderError as exc:
            builder[f"value_{exc.index}"].errors = [exc.message]
        except ValidationFailed as exc:
            apply_error(form, exc, "rule")
        else:
            flash(_("Die Zuständigkeitsregel ist gespeichert."), "success")
            return redirect(url_for(".routing", service_id=service.id), 303)
    has_errors = bool(form.errors or builder.errors)
    return render_template(
        "admin/rule_form.html",
        service=service,
        rule=rule,
        form=form,
        builder=builder,
        rows=CONDITION_ROWS,
        choices=choices,
        has_errors=has_errors,
        current="admin_config.routing",
    ), 400 if has_errors else 200


def _rows(builder):
    return [
        {
            "field": builder[f"field_{i}"].data or "",
            "op": builder[f"op_{i}"].data,
            "value": builder[f"value_{i}"].data or "",
        }
        for i in range(CONDITION_ROWS)
    ]


def _load_rule(service, rule_id):
    return get_or_404(RoutingRule, rule_id, service_id=service.id)


@bp.post("/zustaendigkeit/regeln/<int:rule_id>/aktion")
def rule_action(service_id, rule_id):
    service = load_service_for_admin(service_id)
    rule = _load_rule(service, rule_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    action = request.form.get("aktion")
    with transaction():
        if action == "loeschen":
            admin_config.delete_rule(service, rule, actor())
        elif action in ("hoch", "runter"):
            admin_config.move_rule(service, rule, -1 if action == "hoch" else 1, actor())
    return redirect(url_for(".routing", service_id=service.id), 303)


# --- workflow ----------------------------------------------------------------------------------


@bp.route("/ablauf", methods=["GET", "POST"])
def workflow(service_id):
    service = load_service_for_admin(service_id)
    workflows = admin_config.workflows_for(service.department)
    mode = request.form.get("modus")
    choose = WorkflowChooseForm(formdata=request.form if mode in ("waehlen", "kopieren") else None)
    choose.workflow.choices = choice_list((w.id, w.name) for w in workflows)
    copy_form = WorkflowCopyForm(formdata=request.form if mode == "kopieren" else None)
    link = service.workflow_link
    if request.method == "GET":
        choose.workflow.data = link.workflow_id if link else None
    elif mode in ("waehlen", "kopieren") and choose.validate():
        chosen = next((w for w in workflows if w.id == choose.workflow.data), None)
        if chosen is None:
            abort(404)
        if mode == "waehlen":
            try:
                with transaction():
                    admin_config.choose_workflow(service, chosen, actor())
            except ValidationFailed as exc:
                apply_error(choose, exc, "workflow")
            else:
                flash(_("Die Leistung verwendet jetzt den Ablauf „%(name)s“.", name=chosen.name), "success")
                return redirect(url_for(".workflow", service_id=service.id), 303)
        elif copy_form.validate():
            with transaction():
                copy = admin_config.copy_workflow(chosen, service.department, copy_form.name.data, actor())
            flash(_("Der Ablauf ist kopiert. Passen Sie ihn an und veröffentlichen Sie ihn."), "success")
            return redirect(url_for(".workflow_edit", service_id=service.id, workflow_id=copy.id), 303)
    has_errors = bool(choose.errors or copy_form.errors)
    return render_template(
        "admin/workflow.html",
        service=service,
        workflows=workflows,
        choose=choose,
        copy_form=copy_form,
        current_workflow=link.workflow if link else None,
        has_errors=has_errors,
        current="admin_config.workflow",
    ), 400 if has_errors else 200


def _load_workflow(service, workflow_id):
    return get_or_404(WorkflowDefinition, workflow_id, department_id=service.department_id)


@bp.route("/ablauf/<int:workflow_id>", methods=["GET", "POST"])
def workflow_edit(service_id, workflow_id):
    service = load_service_for_admin(service_id)
    definition = _load_workflow(service, workflow_id)
    form = WorkflowEditForm(formdata=request.form if request.method == "POST" else None, name=definition.name)
    publish_form = PublishForm(formdata=None)
    problems = []
    if request.method == "GET":
        form.document.data = json.dumps(definition.draft, ensure_ascii=False, indent=2)
    elif form.validate():
        try:
            document = _posted_workflow(definition)
        except ValidationFailed as exc:
            apply_error(form, exc, "document")
        else:
            with transaction():
                problems = admin_config.save_workflow_draft(definition, form.name.data, document, actor())
            if not problems:
                flash(_("Der Entwurf des Ablaufs ist gespeichert und gültig."), "success")
                return redirect(
                    url_for(".workflow_edit", service_id=service.id, workflow_id=definition.id), 303
                )
            form.document.data = json.dumps(document, ensure_ascii=False, indent=2)
            form.document.errors = [f"{where}: {reason}" for where, reason in _readable(document, problems)]
    return _workflow_page(service, definition, form, publish_form)


def _posted_workflow(definition):
    """The document from the JSON textarea when it was changed, else the structured editor's result."""
    original = json.dumps(definition.draft, ensure_ascii=False, indent=2)
    text = request.form.get("document", "")
    if text.strip() and text.replace("\r\n", "\n").strip() != original.strip():
        document = parse_json_text(text, "document")
        if not isinstance(document, dict):
            raise ValidationFailed(_("Ein Ablauf muss ein JSON-Objekt sein."), field="document")
        return document
    due = request.form.get("due_soon_days", "").strip()
    if due and not due.isdigit():
        raise ValidationFailed(_("Bitte geben Sie eine ganze Zahl ein."), field="document")
    transitions = {}
    for tr in admin_config.transitions_of(definition.draft):
        name = tr.get("name")
        transitions[name] = {
            "roles": request.form.getlist(f"roles-{name}"),
            "second_approver": bool(request.form.get(f"four-{name}")),
            "label_de": request.form.get(f"label-{name}", "").strip(),
        }
    states = definition.draft.get("states") if isinstance(definition.draft.get("states"), list) else []
    labels = {
        st["key"]: request.form.get(f"state-{st['key']}", "").strip()
        for st in states
        if isinstance(st, dict) and isinstance(st.get("key"), str)
    }
    return admin_config.workflow_from_form(definition.draft, int(due) if due else None, transitions, labels)


def _readable(document, problems) -> list[tuple[str, str]]:
    """(where in words, reason) for the workflow validator's (JSON pointer, reason) pairs."""
    return [(describe_path(document, path), reason) for path, reason in problems]


def _workflow_page(service, definition, form, publish_form, problem=None, status=None):
    problems = validate_workflow(definition.draft) if not form.document.errors else []
    problems = _readable(definition.draft, problems)
    has_errors = bool(form.errors or publish_form.errors or problem)
    return render_template(
        "admin/workflow_edit.html",
        service=service,
        definition=definition,
        form=form,
        publish_form=publish_form,
        problems=problems,
        problem=problem,
        roles=admin_config.ROLES,
        has_errors=has_errors,
        current="admin_config.workflow",
    ), status or (400 if has_errors else 200)


@bp.post("/ablauf/<int:workflow_id>/veroeffentlichen")
def workflow_publish(service_id, workflow_id):
    service = load_service_for_admin(service_id)
    definition = _load_workflow(service, workflow_id)
    publish_form = PublishForm()
    form = WorkflowEditForm(formdata=None, name=definition.name)
    form.document.data = json.dumps(definition.draft, ensure_ascii=False, indent=2)
    if publish_form.validate():
        try:
            with transaction():
                version = admin_config.publish_workflow_draft(
                    definition, actor(), publish_form.change_note.data
                )
        except InvalidDefinition as exc:
            return _workflow_page(service, definition, form, publish_form, exc.message, 400)
        flash(_("Version %(n)s des Ablaufs ist veröffentlicht.", n=version.number), "success")
        return redirect(url_for(".workflow", service_id=service.id), 303)
    return _workflow_page(service, definition, form, publish_form)


# --- notice templates --------------------------------------------------------------------------


@bp.get("/bescheide")
def notices(service_id):
    service = load_service_for_admin(service_id)
    rows = [(kind, notice_title(kind), get_template(service, kind)) for kind in NOTICE_KINDS]
    return render_template("admin/notices.html", service=service, rows=rows, current="admin_config.notices")


def _variables(value, prefix=""):
    """Dotted variable names of the sample context with an example value."""
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out += _variables(item, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(value, list):
        return [(prefix, _("Liste"))] + (_variables(value[0], f"{prefix}[0]") if value else [])
    return [(prefix, str(value)[:80])]


@bp.route("/bescheide/<kind>", methods=["GET", "POST"])
def notice_edit(service_id, kind):
    service = load_service_for_admin(service_id)
    if kind not in NOTICE_KINDS:
        abort(404)
    template = get_template(service, kind)
    form = NoticeTemplateForm(formdata=request.form if request.method == "POST" else None)
    publish_form = PublishForm(
        formdata=request.form if request.form.get("modus") == "veroeffentlichen" else None
    )
    problem = None
    if request.method == "GET":
        source = template or get_template(None, kind)
        form.html.data = source.draft_html if source else bundled_source(kind)
        form.css.data = source.draft_css if source else ""
    elif form.validate():
        mode = request.form.get("modus")
        with transaction():
            template = admin_config.notice_template_for_edit(service, kind, actor())
            admin_config.save_notice_draft(
                service, template, form.html.data or "", form.css.data or "", actor()
            )
        if mode == "vorschau":
            try:
                pdf = admin_config.preview_notice_pdf(
                    kind, form.html.data or "", form.css.data or "", service
                )
            except InvalidDefinition as exc:
                problem = "; ".join(reason for _part, reason in exc.errors)
            else:
                return Response(
                    pdf,
                    mimetype="application/pdf",
                    headers={
                        "Content-Disposition": f'attachment; filename="vorschau-{service.slug}-{kind}.pdf"'
                    },
                )
        elif mode == "veroeffentlichen" and publish_form.validate():
            try:
                with transaction():
                    version = admin_config.publish_notice_template(
                        service, template, actor(), publish_form.change_note.data
                    )
            except InvalidDefinition as exc:
                problem = _(
                    "Die Vorlage lässt sich nicht darstellen und kann nicht veröffentlicht werden: "
                    "%(reason)s",
                    reason="; ".join(reason for _part, reason in exc.errors),
                )
            else:
                flash(_("Version %(n)s der Bescheidvorlage ist veröffentlicht.", n=version.number), "success")
                return redirect(url_for(".notice_edit", service_id=service.id, kind=kind), 303)
        elif mode != "veroeffentlichen":
            flash(_("Der Entwurf der Vorlage ist gespeichert."), "success")
            return redirect(url_for(".notice_edit", service_id=service.id, kind=kind), 303)
    has_errors = bool(problem or form.errors or publish_form.errors)
    return render_template(
        "admin/notice_edit.html",
        service=service,
        kind=kind,
        title=notice_title(kind),
        template=template,
        form=form,
        publish_form=publish_form,
        problem=problem,
        variables=_variables(preview_context(kind, service)),
        has_errors=has_errors,
        current="admin_config.notices",
    ), 400 if has_errors else 200
