"""CLI verbs ``backup`` and ``restore`` (issue 12; DESIGN §7: backups carry the vault).

Registered on the shared :data:`api.cli.app`. Thin: the work is in :mod:`ledger.persistence.backup`. A
restore is followed by ``verify`` (the same verb, the same trust anchor), so a backup older than
the largest checkpoint this verifier trusted is reported as a rollback (exit 1), never accepted
silently. Operational errors exit 2 with one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli import STATE, app, fail
from ledger.errors import LedgerError
from ledger.i18n import lang

TEXT: dict[str, tuple[str, str]] = {
    "backed_up": (
        "已备份：{path}（{leaves} 条记录，最新检查点大小 {checkpoint}，个人信息库 {vault} 条，{mib:.1f} MiB）；"
        "备份含加密的个人信息库，须像密钥库一样保管",
        "backup written: {path} ({leaves} leaves, latest checkpoint size {checkpoint}, {vault} vault records,"
        " {mib:.1f} MiB); it holds the encrypted personal-data vault: keep it like the keystore",
    ),
    "restored": (
        "已从 {src} 恢复到 {db}（{leaves} 条记录，最新检查点大小 {checkpoint}）；现在校验：",
        "restored {src} into {db} ({leaves} leaves, latest checkpoint size {checkpoint}); verifying:",
    ),
    "restored_pg": ("已用 pg_restore 从 {src} 恢复到 {db}；现在校验：", "restored {src} into {db} with pg_restore; verifying:"),
}


def say(key: str, **kw: Any) -> str:
    zh, en = TEXT[key]
    return (zh if lang() == "zh" else en).format(**kw)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except LedgerError as exc:
        fail(str(exc), 2)


def _dash(value: int | None) -> str:
    return "—" if value is None else str(value)


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="file to write (SQLite: a database file; PostgreSQL: a pg_dump archive)")],
    force: Annotated[bool, typer.Option("--force", help="overwrite DEST if it exists")] = False,
) -> None:
    """备份: copy the ledger (log, projections and the personal-data vault), consistent while others write."""
    from ledger.persistence import backup as b

    with _errors():
        if b.sqlite_file(STATE["db"]) is None:
            made = b.backup_postgres(STATE["db"], dest, force=force)
        else:
            made = b.backup_sqlite(STATE["db"], dest, force=force)
    typer.echo(say("backed_up", path=made.path, leaves=made.leaves, checkpoint=_dash(made.checkpoint),
                   vault=made.vault_records, mib=made.size_bytes / 2**20))  # fmt: skip


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="a backup made by `backup`")],
    force: Annotated[bool, typer.Option("--force", help="replace the ledger --db already holds")] = False,
    operator_key: Annotated[str | None, typer.Option("--operator-key",
                            help="trusted operator verifier key for the verify that follows")] = None,  # fmt: skip
    anchor: Annotated[str | None, typer.Option("--anchor", metavar="FILE",
                      help="trust anchor kept outside the keystore (as verify --anchor)")] = None,  # fmt: skip
) -> None:
    """恢复: write a backup into --db (refusing to replace a ledger without --force), then verify it."""
    from api.cli_log import verify
    from ledger.persistence import backup as b

    with _errors():
        if b.sqlite_file(STATE["db"]) is None:
            b.restore_postgres(src, STATE["db"], force=force)
            typer.echo(say("restored_pg", src=src, db=STATE["db"]), err=True)
        else:
            made = b.restore_sqlite(src, STATE["db"], force=force)
            typer.echo(say("restored", src=src, db=STATE["db"], leaves=made.leaves,
                           checkpoint=_dash(made.checkpoint)), err=True)  # fmt: skip
    verify(operator_key=operator_key, anchor_file=anchor)  # exit 1 with the trust-anchor mismatch if this is a rollback
