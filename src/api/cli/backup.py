"""``backup`` and ``restore`` (issue 12; DESIGN §7: backups carry the vault).

Thin: the work is in :mod:`ledger.persistence.backup`. A restore is followed by ``verify`` (the
same verb, the same trust anchor), so a backup older than the largest checkpoint this verifier
trusted is reported as a rollback (exit 1), never accepted silently. Operational errors exit 2
with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.log import verify_ledger
from api.cli.root import errors, options

TEXT = {
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


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)


def _dash(value: int | None) -> str:
    return "—" if value is None else str(value)


def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="file to write (SQLite: a database file; PostgreSQL: a pg_dump archive)")],
    force: Annotated[bool, typer.Option("--force", help="overwrite DEST if it exists")] = False,
) -> None:
    """备份: copy the ledger (log, projections and the personal-data vault), consistent while others write."""
    from ledger.persistence import backup as b

    o = options(ctx)
    with errors(o):
        if b.sqlite_file(o.db) is None:
            made = b.backup_postgres(o.db, dest, force=force)
        else:
            made = b.backup_sqlite(o.db, dest, force=force)
    typer.echo(o.say(TEXT, "backed_up", path=made.path, leaves=made.leaves, checkpoint=_dash(made.checkpoint),
                     vault=made.vault_records, mib=made.size_bytes / 2**20))  # fmt: skip


def restore(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(help="a backup made by `backup`")],
    force: Annotated[bool, typer.Option("--force", help="replace the ledger --db already holds")] = False,
    operator_key: Annotated[str | None, typer.Option("--operator-key",
                            help="trusted operator verifier key for the verify that follows")] = None,  # fmt: skip
    anchor: Annotated[str | None, typer.Option("--anchor", metavar="FILE",
                      help="trust anchor kept outside the keystore (as verify --anchor)")] = None,  # fmt: skip
) -> None:
    """恢复: write a backup into --db (refusing to replace a ledger without --force), then verify it."""
    from ledger.persistence import backup as b

    o = options(ctx)
    with errors(o):
        if b.sqlite_file(o.db) is None:
            b.restore_postgres(src, o.db, force=force)
            typer.echo(o.say(TEXT, "restored_pg", src=src, db=o.db), err=True)
        else:
            made = b.restore_sqlite(src, o.db, force=force)
            typer.echo(o.say(TEXT, "restored", src=src, db=o.db, leaves=made.leaves,
                             checkpoint=_dash(made.checkpoint)), err=True)  # fmt: skip
    verify_ledger(o, operator_key=operator_key, anchor_file=anchor)  # exit 1 on a rollback (trust-anchor mismatch)
