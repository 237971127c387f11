"""Registry of workflow effects: what follows a transition (notices, notifications, clock, dates)."""

from dataclasses import dataclass

from flask_babel import gettext as _

from models import NoticeKind
from models.base import utcnow
from services.workflow import deadlines


@dataclass
class EffectContext:
    """What an effect may look at: who fired which transition with which inputs."""

    actor: object
    transition: object
    fields: dict


@dataclass(frozen=True)
class Effect:
    """One effect type: `run(req, params, ctx)` and the allowed values of its `kind` parameter."""

    run: object
    kinds: object = None  # callable returning the allowed kinds; None: the effect takes no kind


def approval_fee_cents(req) -> int:
    """The fee an approval notice of `req` charges: computed from the answers, else the service's fee."""
    return (req.computed or {}).get("fee_cents", req.service.fee_cents) or 0


def _issue_notice(req, params, ctx):
    from services.notices import request_notice  # notices area; imported late to keep the engine light

    data = {f.key: ctx.fields.get(f.key) for f in ctx.transition.form_fields if f.public}
    if params["kind"] == NoticeKind.APPROVAL:
        # The fee is part of the approval notice (no separate fee notice).
        fee = approval_fee_cents(req)
        if fee:
            data["fee_cents"] = fee
    request_notice(req, params["kind"], data=data, actor=ctx.actor)


def _notify_citizen(req, params, ctx):
    from services.notifications import notify_citizen

    notify_citizen(req, params["kind"], state=req.state)


def _pause_clock(req, params, ctx):
    deadlines.pause_clock(req)


def _resume_clock(req, params, ctx):
    deadlines.resume_clock(req)


def _set_decided(req, params, ctx):
    req.decided_at = req.decided_at or utcnow()


def _set_closed(req, params, ctx):
    req.closed_at = req.closed_at or utcnow()
    req.clock_paused_at = None


def _notification_kinds():
    from services.notifications import NOTIFICATION_KINDS

    return tuple(NOTIFICATION_KINDS)


EFFECTS: dict[str, Effect] = {
    "issue_notice": Effect(
        _issue_notice, lambda: tuple(k.value for k in NoticeKind if k != NoticeKind.RECEIPT)
    ),
    "notify_citizen": Effect(_notify_citizen, _notification_kinds),
    "pause_clock": Effect(_pause_clock),
    "resume_clock": Effect(_resume_clock),
    "set_decided": Effect(_set_decided),
    "set_closed": Effect(_set_closed),
}


def effect_param_errors(params: dict, field_keys) -> list[tuple[str, str]]:
    """Problems of one effect entry as (relative path, reason)."""
    effect = EFFECTS.get(params.get("type"))
    if effect is None:
        return [("/type", _("Unbekannte Wirkung „%(name)s“.", name=params.get("type")))]
    errors = []
    kinds = effect.kinds() if effect.kinds is not None else None
    if kinds is not None and params.get("kind") not in kinds:
        errors.append(("/kind", _("Art muss eine von %(kinds)s sein.", kinds=", ".join(kinds))))
    if kinds is None and "kind" in params:
        errors.append(("/kind", _("Diese Wirkung hat keine Art.")))
    if "if_field" in params and params["if_field"] not in field_keys:
        errors.append(("/if_field", _("Unbekanntes Feld „%(name)s“.", name=params["if_field"])))
    return errors


def run_effects(req, transition, actor, fields: dict) -> list[str]:
    """Run the transition's effects in order; returns the names of those that ran."""
    ctx = EffectContext(actor=actor, transition=transition, fields=fields)
    ran = []
    for params in transition.effects:
        if params.get("if_field") and not fields.get(params["if_field"]):
            continue
        EFFECTS[params["type"]].run(req, params, ctx)
        ran.append(params["type"] + (f":{params['kind']}" if "kind" in params else ""))
    return ran
