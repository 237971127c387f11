"""Public verification of notices: by code (QR link), by uploaded PDF, JSON for machines, CRLs."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale

from extensions import limiter
from forms.verify import CodeForm, UploadForm
from services.notices import normalise_code
from services.notices.pki import dev_pki_from_config
from services.notices.verify import verify_code, verify_pdf_bytes

bp = Blueprint("verify", __name__, url_prefix="/verify")


@bp.get("")
def index():
    form = CodeForm(request.args)
    if "code" in request.args and form.validate():
        return redirect(url_for("verify.code", code=normalise_code(form.code.data)))
    return render_template("verify/index.html", code_form=form, upload_form=UploadForm())


@bp.post("")
@limiter.limit("20 per minute")
def upload():
    form = UploadForm()
    data = form.read_pdf() if form.validate_on_submit() else None
    if data is None:
        return render_template("verify/index.html", code_form=CodeForm(formdata=None), upload_form=form), 400
    return render_template("verify/result.html", result=verify_pdf_bytes(data))


@bp.get("/<code>.json")
def code_json(code):
    info = verify_code(code)
    if info is None:
        return jsonify({"valid": False, "error": "unknown_code"}), 404
    return jsonify(_public_json(info))


@bp.get("/<code>")
def code(code):
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        info = verify_code(code)  # the JSON keeps the German names (a stable public format)
        return (
            (jsonify(_public_json(info)), 200)
            if info
            else (jsonify({"valid": False, "error": "unknown_code"}), 404)
        )
    info = verify_code(code, str(get_locale()))
    if info is None:
        return render_template("verify/unknown.html", code=code[:40]), 404
    return render_template("verify/code.html", info=info, upload_form=UploadForm())


@bp.get("/pki/<name>.crl")
def crl(name):
    """The development PKI's CRLs (their URLs are in the certificates' CRL distribution points)."""
    data = dev_pki_from_config(current_app.config).crl_bytes(name)
    if data is None:
        abort(404)
    return Response(data, mimetype="application/pkix-crl")


@bp.get("/pki/root.crt")
def root_certificate():
    data = dev_pki_from_config(current_app.config).root_pem()
    if data is None:
        abort(404)
    return Response(
        data,
        mimetype="application/x-pem-file",
        headers={"Content-Disposition": "attachment; filename=amtsweg-test-root.crt"},
    )


def _public_json(info: dict) -> dict:
    return {
        "valid": info["issued"],
        "verification_code": info["verification_code"],
        "reference": info["reference"],
        "kind": info["kind"],
        "title": info["title"],
        "revision": info["revision"],
        "superseded": info["superseded"],
        "department": info["department"],
        "service": info["service"],
        "issued_at": info["issued_at"].isoformat() if info["issued_at"] else None,
        "sha256": info["sha256"],
    }
