"""The integrity page ``/integrity`` (DESIGN §6, §13): the latest signed checkpoint and who cosigned
it, each witness's status, and the inclusion proof of any ``seq``.

The checkpoint is :func:`ledger.translog.cosign.latest_checkpoint_info` (the operator signature
checked, each cosignature checked against its cosigner's registered keys), the note the same as
``GET /v1/checkpoint``. A witness is a registered cosigner (a finance bureau or an inspector,
:data:`ledger.domain.policy.COSIGNERS`); its status is the largest checkpoint it cosigned and how
many leaves the latest is ahead of it. The proof is ``GET /v1/events/{seq}``'s
(:func:`api.http.routes.get_event`: the same scope rule, checked against the signed root before it
is shown), and ``static/integrity.js`` recomputes it in the browser with WebCrypto SHA-256
(RFC 6962). Cosigning stays with the CLI witness, which keeps the state a cosignature needs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.http import routes
from api.http.auth import Scope
from api.web.render import PageRoute, render
from api.web.session import PageScope
from ledger.domain.policy import COSIGNERS
from ledger.encoding.b64 import b64decode_strict, b64encode
from ledger.persistence import queries
from ledger.translog.cosign import latest_checkpoint_info
from ledger.translog.note import cosignature_key_id
from ledger.translog.verify import load_operator_verifiers

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def witnesses(scope: Scope, info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every registered cosigner: its name, current key, the last checkpoint it cosigned and the lag."""
    ledger = scope.srv.session.ledger
    out = []
    for actor_id in sorted({row.actor_id for row in queries.key_index(ledger.sql)}):
        actor = ledger.actor(actor_id)
        if actor is None or actor.role not in COSIGNERS:
            continue
        last = queries.last_cosigned(ledger.sql, actor_id)
        out.append({"id": actor_id, "name": actor.name, "role": actor.role, "key_id": actor.current_key_id,
                    "last": None if last is None else last.size, "signed_at": None if last is None else last.signed_at,
                    "behind": None if last is None else info["size"] - last.size})  # fmt: skip
    return sorted(out, key=lambda w: (w["last"] is None, w["behind"] or 0, w["id"]))


def cosigners(scope: Scope, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest checkpoint's cosignatures with the cosigner's name and which of its keys signed."""
    ledger = scope.srv.session.ledger
    out = []
    for line in info["cosignatures"]:
        actor = ledger.actor(line["name"])
        key = None
        for period in actor.keys if actor is not None else ():
            if cosignature_key_id(line["name"], b64decode_strict(period.public_key)).hex() == line["key_id"]:
                key = period
        out.append({**line, "actor_name": actor.name if actor else line["name"],
                    "ledger_key": key.key_id if key else None,
                    "current": key is not None and actor is not None and key.key_id == actor.current_key_id})  # fmt: skip
    return out


@router.get("/integrity")
def integrity_page(request: Request, scope: PageScope,
                   seq: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None) -> Response:  # fmt: skip
    srv = scope.srv
    with srv.lock:
        srv.session.ledger.head()
        info = latest_checkpoint_info(srv.session.ledger, load_operator_verifiers(srv.session.keys))
        found = (
            None
            if info is None
            else {"cosigners": cosigners(scope, info), "witnesses": witnesses(scope, info)}
        )
    proof = None
    if seq is not None:
        leaf = routes.get_event(scope, seq)  # scope (403), no such leaf (404): the error page
        proof = leaf.model_dump()
        if leaf.proof is not None and info is not None:
            with srv.lock:
                signed = srv.session.ledger.checkpoints_of_size(leaf.proof.tree_size)
            proof["root"] = b64encode(signed[-1].root) if signed else info["root_hash"]
    return render(request, "integrity.html", {"info": info, **(found or {}), "seq": seq, "proof": proof})
