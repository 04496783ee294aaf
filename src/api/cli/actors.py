"""``init`` and ``actor add|rotate|revoke`` (DESIGN §9): the genesis admin and the key registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.root import options, session

TEXT = {
    "init_done": (
        "已初始化账本：创世记录 seq 0（管理员 {admin}），运营方公钥 {verifier}",
        "ledger initialised: genesis leaf seq 0 (admin {admin}); operator key {verifier}",
    ),
    "actor_added": ("已登记主体 {actor}（{role}，{jurisdiction}）：seq {seq}", "actor {actor} ({role}, {jurisdiction}) registered: seq {seq}"),
    "actor_rotated": ("已轮换 {actor} 的密钥：seq {seq}，新公钥 {key_id}", "key of {actor} rotated: seq {seq}, new key {key_id}"),
    "actor_revoked": ("已吊销 {actor} 的密钥 {key_id}：seq {seq}", "key {key_id} of {actor} revoked: seq {seq}"),
}


def register(app: typer.Typer) -> None:
    app.command()(init)
    actor_app = typer.Typer(no_args_is_help=True, help="Register actors and manage their keys.")
    actor_app.command("add")(actor_add)
    actor_app.command("rotate")(actor_rotate)
    actor_app.command("revoke")(actor_revoke)
    app.add_typer(actor_app, name="actor")


def init(
    ctx: typer.Context,
    admin_id: Annotated[str, typer.Option(help="id of the first admin (leaf 0)")] = "admin",
    origin: Annotated[str, typer.Option(help="checkpoint origin line")] = "guyuan.subsidy-ledger",
    admin_name: Annotated[str, typer.Option(help="name of the admin organisation")] = "固原市人力资源和社会保障局",
    jurisdiction: Annotated[str, typer.Option(help="admin's jurisdiction code")] = "640400",
) -> None:
    """Create the genesis admin (leaf 0), the operator key and the pepper."""
    o = options(ctx)
    with session(o, create=True) as s:
        s.init(admin_id, origin, admin_name, jurisdiction)
        typer.echo(o.say(TEXT, "init_done", admin=admin_id, verifier=s.keys.operator_verifier()))


def actor_add(
    ctx: typer.Context,
    id: Annotated[str, typer.Option("--id", help="actor id")],
    role: Annotated[str, typer.Option(help="role (DESIGN §2)")],
    jurisdiction: Annotated[str, typer.Option(help="jurisdiction code")],
    name: Annotated[str, typer.Option(help="organisation name")],
    public_key: Annotated[Path | None, typer.Option(help="the organisation's own public key (PEM or base64)")] = None,
    uscc: Annotated[str | None, typer.Option(help="统一社会信用代码")] = None,
) -> None:
    """Register an actor (signed by the admin); without --public-key the keystore makes its key."""
    from ledger.service import read_public_key

    o = options(ctx)
    with session(o, heal=True) as s:
        raw = read_public_key(public_key) if public_key else None
        out = s.add_actor(id, role, jurisdiction, name, raw, uscc)
        typer.echo(o.say(TEXT, "actor_added", actor=id, role=role, jurisdiction=jurisdiction, seq=out.seq))


def actor_rotate(
    ctx: typer.Context,
    actor_id: Annotated[str, typer.Argument(help="actor id")],
    public_key: Annotated[Path | None, typer.Option(help="the new public key (PEM or base64)")] = None,
    by_self: Annotated[bool, typer.Option("--self", help="sign with the actor's current key instead of the admin's")] = False,
) -> None:
    """Rotate an actor's key: its old key signs nothing after this leaf."""
    from ledger.service import read_public_key

    o = options(ctx)
    with session(o, heal=True) as s:
        raw = read_public_key(public_key) if public_key else None
        out = s.rotate_actor(actor_id, raw, by_self)
        actor = s.ledger.actor(actor_id)
        typer.echo(o.say(TEXT, "actor_rotated", actor=actor_id, seq=out.seq, key_id=actor.current_key_id if actor else "?"))


def actor_revoke(
    ctx: typer.Context,
    actor_id: Annotated[str, typer.Argument(help="actor id")],
    reason: Annotated[str, typer.Option(help="why")],
    effective_at: Annotated[str | None, typer.Option(help="RFC 3339; may lie in the past")] = None,
    key_id: Annotated[str | None, typer.Option(help="key to revoke (default: current)")] = None,
) -> None:
    """Revoke an actor's key (signed by the admin)."""
    o = options(ctx)
    with session(o, heal=True) as s:
        actor = s.ledger.actor(actor_id)
        target = key_id or (actor.current_key_id if actor else None)
        out = s.revoke_actor(actor_id, reason, effective_at, key_id)
        typer.echo(o.say(TEXT, "actor_revoked", actor=actor_id, key_id=target, seq=out.seq))
