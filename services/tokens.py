"""Signed, expiring, single-use links (confirm email, reset password, staff invitation).

A token carries the user id and a fingerprint of the user state the link is meant to change.
Once that state changes (email confirmed, password set, sessions ended) the fingerprint no longer
matches and the link is dead, without storing anything server-side.

Also the tokens of anonymous use (drafts bound to a browser session, personal status links of
requests submitted without an account): the database keeps only their SHA-256.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from config import itsdangerous_keys
from extensions import db
from models import User
from services.errors import InvalidToken


@dataclass(frozen=True)
class Purpose:
    name: str
    max_age_key: str  # config key; the value is in seconds
    default_max_age: int

    def fingerprint(self, user: User) -> str:
        state = FINGERPRINTS[self.name](user)
        return hashlib.sha256(f"{self.name}|{user.id}|{state}".encode()).hexdigest()[:24]


# The part of the user's state each link depends on: when it changes, the link dies.
FINGERPRINTS = {
    "confirm": lambda u: f"{u.email}|{u.email_confirmed_at}",
    "reset": lambda u: f"{u.password_hash}|{u.session_version}|{u.is_active_account}",
    "invite": lambda u: f"{u.password_hash}|{u.session_version}|{u.is_active_account}",
}

PURPOSES = {
    "confirm": Purpose("confirm", "TOKEN_MAX_AGE_CONFIRM", 48 * 3600),
    "reset": Purpose("reset", "TOKEN_MAX_AGE_RESET", 3600),
    "invite": Purpose("invite", "TOKEN_MAX_AGE_INVITE", 7 * 24 * 3600),
}


def signing_keys() -> list[str]:
    """SECRET_KEY first (it signs), then the SECRET_KEY_FALLBACKS still accepted when verifying."""
    return [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", ())]


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(itsdangerous_keys(current_app.config), salt=f"amtsweg.token.{purpose.name}")


def max_age(purpose_name: str) -> int:
    """Lifetime of a link of this purpose in seconds (config overrides the default)."""
    purpose = PURPOSES[purpose_name]
    return int(current_app.config.get(purpose.max_age_key) or purpose.default_max_age)


def make_token(purpose_name: str, user: User) -> str:
    """Sign a link token for `user`; valid until it expires or the user's state changes."""
    purpose = PURPOSES[purpose_name]
    return _serializer(purpose).dumps({"u": user.id, "f": purpose.fingerprint(user)})


def load_token(purpose_name: str, token: str) -> User:
    """The user the token was made for, or InvalidToken if forged, expired or already used."""
    purpose = PURPOSES[purpose_name]
    try:
        data = _serializer(purpose).loads(token, max_age=max_age(purpose_name))
    except (SignatureExpired, BadSignature) as exc:
        raise InvalidToken() from exc
    valid_shape = isinstance(data, dict) and isinstance(data.get("u"), int)
    user = db.session.get(User, data["u"]) if valid_shape else None
    if user is None or not user.is_active_account or data.get("f") != purpose.fingerprint(user):
        raise InvalidToken()
    return user


# --- anonymous use: session tokens for drafts, personal status links for requests -------------


def random_token() -> str:
    """A fresh random token (256 bits), e.g. the one binding anonymous drafts to a browser session."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def digest_matches(stored_digest: str | None, token: str | None) -> bool:
    """True when `token` hashes to `stored_digest` (constant-time; False for anything missing)."""
    if not stored_digest or not isinstance(token, str) or not token or len(token) > 200:
        return False
    return hmac.compare_digest(stored_digest, token_digest(token))


def request_access_token(public_id: str, generation: int = 0, key: str | None = None) -> str:
    """The secret of a request's personal status link (requests submitted without an account).

    An HMAC of the request's public id and link generation under SECRET_KEY: the mail worker can
    rebuild the link at send time, so the token is never stored in clear text (the request keeps
    its digest only). Renewing the link (services.anonymous.renew_access_link) counts the
    generation up, which retires the previous token. Generation 0 is the link of the submission.
    `key`: a retired key, to rebuild a link issued before SECRET_KEY was rotated.
    """
    secret = (key or current_app.config["SECRET_KEY"]).encode()
    message = f"amtsweg.request-access|{public_id}" + (f"|{generation}" if generation else "")
    mac = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
