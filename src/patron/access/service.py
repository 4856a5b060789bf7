"""API keys: create, revoke, verify.

A key looks like ``ptr_<prefix>_<secret>``. Only the SHA-256 of the whole key
is stored; keys are 190 bits of randomness, so a fast hash is the right tool
(a slow password hash protects guessable secrets, which these are not).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from patron.access.models import SCOPES, ApiKey
from patron.core.clock import now
from patron.core.errors import Forbidden, InvalidInput, NotFound, Unauthorized


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and scopes."""

    key_id: int
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"apikey:{self.name}"

    def require(self, scope: str) -> None:
        # admin can do everything; pos can also read.
        if "admin" in self.scopes or scope in self.scopes:
            return
        if scope == "read" and "pos" in self.scopes:
            return
        raise Forbidden(f"this API key lacks the '{scope}' scope", required_scope=scope)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret (shown once, never stored)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise InvalidInput(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}",
            field="scopes",
        )
    if not name.strip():
        raise InvalidInput("a key needs a name", field="name")
    prefix = secrets.token_hex(4)
    secret = f"ptr_{prefix}_{secrets.token_urlsafe(24)}"
    row = ApiKey(
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        created_at=now(),
    )
    session.add(row)
    session.flush()
    return row, secret


def revoke_api_key(session: Session, prefix: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise NotFound(f"no API key with prefix {prefix}", field="prefix")
    row.revoked_at = now()
    return row


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


class KeyVerifier:
    """Checks presented keys, remembering good ones for a few seconds.

    The cache keeps a hot API from paying a database round trip per request;
    a revoked key stops working within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def remembered(self, presented: str | None) -> Principal | None:
        """The key's principal if it was verified less than ``ttl`` seconds ago:
        no database needed (the API answers such requests without a thread hop)."""
        if not presented:
            return None
        with self._lock:
            hit = self._cache.get(_hash(presented))
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def verify(self, session: Session, presented: str | None) -> Principal:
        if not presented:
            raise Unauthorized(
                "send an API key as 'Authorization: Bearer <key>'", field="Authorization"
            )
        hit = self.remembered(presented)
        if hit is not None:
            return hit
        digest = _hash(presented)
        parts = presented.split("_")
        if len(parts) < 3 or parts[0] != "ptr":
            raise Unauthorized("malformed API key", field="Authorization")
        row = _stored_key(session, parts[1])
        if (
            row is None
            or row.revoked_at is not None
            or not hmac.compare_digest(row.key_hash, digest)
        ):
            raise Unauthorized("unknown or revoked API key", field="Authorization")
        principal = Principal(row.id, row.name, frozenset(row.scopes))
        with self._lock:
            self._cache[digest] = (time.monotonic() + self.ttl, principal)
        return principal

    def warm_up(self, session: Session) -> None:
        """The look-up of a key that cannot exist: its SQL compiled before the
        first request (a worker's start-up, see ``api.app``)."""
        _stored_key(session, "")


def _stored_key(session: Session, prefix: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
