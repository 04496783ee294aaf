"""``pii show`` and ``pii erase`` (DESIGN §7): personal data, every read recorded in the log first."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.root import JsonFlag, Options, echo_json, options, session

TEXT = {
    "pii_shown": ("（本次查阅已记录：seq {seq}）", "(this read was recorded: seq {seq})"),
    "pii_already_erased": (
        "{laborer} 的个人信息已于 seq {seq} 删除；未重复记录",
        "personal data of {laborer} was already erased at seq {seq}; nothing recorded again",
    ),
    "pii_erased": ("已删除 {laborer} 的个人信息：seq {seq}；日志未改动", "personal data of {laborer} erased: seq {seq}; the log is unchanged"),
}
LABELS = {"name": "姓名 name", "id_number": "身份证号 ID", "phone": "电话 phone", "bank_account": "银行账号 account"}


def register(app: typer.Typer) -> None:
    pii_app = typer.Typer(no_args_is_help=True, help="Read or erase personal data (every read is logged).")
    pii_app.command("show")(pii_show)
    pii_app.command("erase")(pii_erase)
    app.add_typer(pii_app, name="pii")


def pii_show(
    ctx: typer.Context,
    laborer_id: Annotated[str, typer.Argument(help="labourer id")],
    as_actor: Annotated[str, typer.Option("--as", help="the actor reading (its key signs the access record)")],
    purpose: Annotated[str, typer.Option(help="why the data is read")] = "核实身份 identity check",
    as_json: JsonFlag = False,
) -> None:
    """Show a labourer's personal data; the read is recorded first (PersonalDataAccessed)."""
    o = options(ctx)
    if o.server is not None:  # the read recorded on the server, then read once against it (API.md)
        from api.cli import remote

        found, seq = remote.pii_show(o, laborer_id, as_actor, purpose)  # every failure one line (remote.client)
        _show(o, {k: found[k] for k in LABELS}, seq, as_json)
        return
    with session(o, heal=True) as s:
        record = s.show_pii(laborer_id, as_actor, purpose)
        _show(o, record, s.ledger.size() - 1, as_json)


def _show(o: Options, record: dict[str, str], seq: int, as_json: bool) -> None:
    if as_json:
        echo_json(dict(sorted(record.items())))
    else:
        for key, label in LABELS.items():
            typer.echo(f"{label}: {record.get(key, '')}")
        typer.echo(o.say(TEXT, "pii_shown", seq=seq), err=True)


def pii_erase(
    ctx: typer.Context,
    laborer_id: Annotated[str, typer.Argument(help="labourer id")],
    as_actor: Annotated[str, typer.Option("--as", help="the poverty office erasing")],
    reason: Annotated[str, typer.Option(help="why")] = "本人申请删除 erasure requested",
) -> None:
    """Erase a labourer's personal data from the vault and record PersonalDataErased."""
    from ledger.errors import AlreadyErased

    o = options(ctx)
    if o.server is not None:
        from api.cli import remote

        seq = remote.pii_erase(o, laborer_id, as_actor, reason)
        typer.echo(o.say(TEXT, "pii_erased", laborer=laborer_id, seq=seq))
        return
    with session(o, heal=True) as s:
        try:
            out = s.erase_pii(laborer_id, as_actor, reason)
        except AlreadyErased as done:  # like a duplicate: reported with its seq, not recorded twice
            typer.echo(o.say(TEXT, "pii_already_erased", laborer=laborer_id, seq=done.seq))
            return
        typer.echo(o.say(TEXT, "pii_erased", laborer=laborer_id, seq=out.seq))
