"""Sign-in and scopes (API.md "Authentication", "Scopes"): the one place reads are authorised.

A reader signs ``subsidy-ledger/auth/v1\\n<origin>\\n<actor_id>\\n<challenge>`` with its current key
and gets a bearer token. The token is stateless — an HMAC under a secret of this process — so the
server stores nothing of it, and it names the key that signed in: every request checks that key
against the key registry (:func:`reader`), so a rotation or revocation ends its tokens at once.
Tokens are never logged. :class:`Scope` is the scope table, applied by every read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.context import Server, server
from api.http.problems import ApiProblem
from ledger.application import Ledger
from ledger.domain.envelope import verify_ed25519
from ledger.encoding.b64 import Base64Invalid, b64decode_strict
from ledger.errors import SignatureInvalid

AUTH_PREFIX = "subsidy-ledger/auth/v1"

# The scope table of API.md, by role.
FULL = frozenset({"admin", "inspector"})  # everything (a county-level inspector: its county)
REGIONAL = frozenset({"finance_bureau", "hr_bureau", "poverty_office"})  # their jurisdiction and below
SUBJECT = frozenset({"institution", "appraisal_center", "traffic_authority", "employer", "township"})
LOG_READERS = FULL | REGIONAL  # the log (/v1/events) and proofs in full
SEES_COMPLAINTS = frozenset(FULL | REGIONAL | {"appraisal_center", "traffic_authority", "township"})
COMPLAINT_METHODS = ("phone_visit", "questionnaire")  # evidence naming trainees who complained


def sign_in_message(origin: str, actor_id: str, challenge: str) -> bytes:
    return f"{AUTH_PREFIX}\n{origin}\n{actor_id}\n{challenge}".encode()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_token(secret: bytes, actor_id: str, key_id: str, expires: int) -> str:
    payload = json.dumps({"a": actor_id, "k": key_id, "e": expires, "n": secrets.token_hex(8)},
                         separators=(",", ":")).encode()  # fmt: skip
    return _b64url(payload) + "." + _b64url(hmac.new(secret, payload, hashlib.sha256).digest())


def read_token(secret: bytes, token: str, now: float) -> tuple[str, str] | None:
    """``(actor_id, key_id)`` of a genuine, unexpired token, else None."""
    try:
        head, tag = token.split(".")
        payload = _unb64url(head)
        if not hmac.compare_digest(_unb64url(tag), hmac.new(secret, payload, hashlib.sha256).digest()):
            return None
        claims = json.loads(payload)
        actor_id, key_id, expires = claims["a"], claims["k"], claims["e"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(actor_id, str) and isinstance(key_id, str) and isinstance(expires, int)) or expires <= now:
        return None
    return actor_id, key_id


def current_key(srv: Server, actor_id: str) -> tuple[str, bytes, str, str] | None:
    """``(key_id, public key, role, jurisdiction)`` of an actor's current key, or None."""
    with srv.lock:
        actor = srv.session.ledger.actor(actor_id)
        if actor is None or actor.current_key_id is None:
            return None
        key = actor.key(actor.current_key_id)
        if key is None:
            return None
        return key.key_id, b64decode_strict(key.public_key), actor.role, actor.jurisdiction or ""


def sign_in(srv: Server, actor_id: str, challenge: str, signature: str) -> tuple[str, str, str]:
    """Check a signed challenge; ``(token, role, jurisdiction)``. Any failure is one 401."""
    fail = ApiProblem("unauthorized", "sign-in failed: unknown or used challenge, unknown actor, or bad signature")
    if not srv.challenges.take(challenge, actor_id, time.time()):
        raise fail
    found = current_key(srv, actor_id)
    if found is None:
        raise fail
    key_id, public, role, jurisdiction = found
    try:
        verify_ed25519(public, b64decode_strict(signature), sign_in_message(srv.origin, actor_id, challenge))
    except (SignatureInvalid, Base64Invalid):
        raise fail from None
    expires = int(time.time()) + srv.settings.token_ttl
    return mint_token(srv.token_secret, actor_id, key_id, expires), role, jurisdiction


@dataclass(frozen=True)
class Scope:
    """The token's actor and what the scope table lets it read. Routes ask; they never decide."""

    actor_id: str
    role: str
    jurisdiction: str
    srv: Server

    @property
    def reads_log(self) -> bool:
        """The log (``/v1/events``) and proofs in full: admin, inspectors and the bureaus."""
        return self.role in LOG_READERS

    @property
    def sees_complaints(self) -> bool:
        """Institutions and employers see flags without phone-visit and questionnaire evidence."""
        return self.role in SEES_COMPLAINTS

    def require_log(self) -> None:
        if not self.reads_log:
            raise ApiProblem("forbidden", f"a {self.role} reads only the events it signed, not the whole log")

    def covers(self, code: str | None) -> bool:
        """Whether a subject of jurisdiction ``code`` is in a jurisdiction-scoped reader's remit."""
        if self.role == "admin":
            return True
        if self.role in SUBJECT:
            return False
        places = self.srv.session.ledger.jurisdictions
        if code is None:  # a subject of no jurisdiction: city-level readers only
            return places.parents.get(self.jurisdiction) is None
        return places.covers(self.jurisdiction, code)

    def may_read_signed(self, signer: str) -> bool:
        """An event (and its proofs): the log readers any; the others those they signed."""
        return self.reads_log or signer == self.actor_id

    def owns(self, signer: str | None) -> bool:
        """A subject-level reader's own subject: the one whose first event it signed."""
        return self.role in SUBJECT and signer == self.actor_id

    def may_read_subject(self, kind: str, ident: str) -> bool | None:
        """Whether a subject's trace or evidence is in scope (None: no such subject). The regional
        roles and inspectors by its jurisdiction — a claim's is its class's (else its claimant's), a
        payment's its fund's, a certificate's its issuer's — the other roles by whether they
        created it (a claimant also reads the payments of its claims)."""
        from ledger.domain import aggregates as a

        ledger = self.srv.session.ledger
        classes: dict[str, type[a.LedgerAggregate]] = {
            "payment": a.Payment, "claim": a.Claim, "class": a.TrainingClass, "laborer": a.Laborer,
            "certificate": a.Certificate, "fund": a.Fund, "actor": a.Actor}  # fmt: skip
        cls = classes.get(kind)
        subject = None if cls is None else ledger.lookup(cls, ident)
        if subject is None or not subject.exists:
            return None
        if self.role in SUBJECT:
            owners = {subject.signer, ident if kind == "actor" else None}
            if isinstance(subject, a.Payment):
                owners.add(ledger.lookup(a.Claim, subject.claim_id).signer)
            return self.actor_id in owners
        place = subject.jurisdiction
        if isinstance(subject, a.Payment):
            place = ledger.lookup(a.Fund, subject.fund_id).jurisdiction
        elif isinstance(subject, a.Claim):
            place = (ledger.lookup(a.TrainingClass, subject.class_id).jurisdiction if subject.class_id
                     else _actor_place(ledger, subject.signer))  # fmt: skip
        elif isinstance(subject, a.Certificate):
            place = _actor_place(ledger, subject.signer)
        return self.covers(place)

    def require_subject(self, kind: str, ident: str) -> None:
        """A subject's trace or evidence: 404 if the ledger does not hold it, 403 if out of scope."""
        self.srv.session.ledger.head()  # a subject another worker created just now
        allowed = self.may_read_subject(kind, ident)
        if allowed is None:
            raise ApiProblem("subject_not_found", f"no {kind} {ident}")
        if not allowed:
            raise ApiProblem("forbidden", f"{kind} {ident} is outside the token's scope")

    def jurisdiction_filter(self, requested: str | None) -> str | None:
        """The jurisdiction a listing is narrowed to: the requested one if in scope (403 if not);
        without one, the reader's own (admin and city-level readers: no narrowing)."""
        if requested is not None:
            if not self.covers(requested):
                raise ApiProblem("forbidden", f"jurisdiction {requested} is outside the token's scope")
            return requested
        if self.role == "admin" or self.covers(None):
            return None
        return self.jurisdiction


def _actor_place(ledger: Ledger, actor_id: str | None) -> str | None:
    actor = None if actor_id is None else ledger.actor(actor_id)
    return None if actor is None else actor.jurisdiction


_BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", description="POST /v1/auth/challenge, then /v1/auth/token")


def scope_of_token(request: Request, srv: Server, token: str, headers: dict[str, str] | None = None) -> Scope:
    """The one place a token becomes a :class:`Scope`, whichever way it came (the API's bearer header,
    the pages' session cookie): genuine, unexpired, and its key still the actor's current one (the
    actor then named in the request's access log line, :mod:`api.http.access`). Else 401."""
    claims = read_token(srv.token_secret, token.strip(), time.time())
    if claims is None:
        raise ApiProblem("unauthorized", "the token is invalid or has expired", headers=headers)
    actor_id, key_id = claims
    found = current_key(srv, actor_id)
    if found is None or found[0] != key_id:
        raise ApiProblem("unauthorized", "the token's key has been rotated or revoked", headers=headers)
    request.state.actor_id = actor_id
    return Scope(actor_id, found[2], found[3], srv)


def reader(
    request: Request,
    srv: Annotated[Server, Depends(server)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Scope:
    """The dependency every read takes: a valid bearer token (:func:`scope_of_token`)."""
    challenge = {"WWW-Authenticate": 'Bearer realm="subsidy-ledger"'}
    if credentials is None:
        raise ApiProblem("unauthorized", "a bearer token is required (POST /v1/auth/challenge, then /v1/auth/token)",
                         headers=challenge)  # fmt: skip
    return scope_of_token(request, srv, credentials.credentials, challenge)


Reader = Annotated[Scope, Depends(reader)]


def log_reader(
    request: Request,
    srv: Annotated[Server, Depends(server)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Scope | None:
    """The dependency of the static log (``/tlog/``): anyone when the operator serves it with
    ``--public-log`` (None), else a token of a role that reads the log in full."""
    if srv.settings.public_log:
        return None
    scope = reader(request, srv, credentials)
    scope.require_log()
    return scope


LogReader = Annotated[Scope | None, Depends(log_reader)]
