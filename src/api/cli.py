"""``subsidy-ledger``: the command line (DESIGN §9), a composition root beside the HTTP API.

It lives in ``api`` because it wires ``ledger`` and ``projections`` together, and ``ledger``
must not import either (STYLE.md habit 1). Verbs of other areas register themselves on
:data:`app` from their own modules (``api.cli_log``, ``api.cli_projections``…), imported at the
bottom of this file. Thin: parse arguments, call :mod:`ledger.service`, format the result. Every failure becomes one
line on stderr and an exit status (1: refusal or failed check; 2: operational error), never a
traceback. Progress goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from ledger.errors import ImportStopped, LedgerError, OperationalError, Refused, VerificationFailed
from ledger.i18n import t

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Subsidy ledger 培训补贴账本 — signed, tamper-evident record of Guyuan's training subsidies.",
)
actor_app = typer.Typer(no_args_is_help=True, help="Register actors and manage their keys.")
pii_app = typer.Typer(no_args_is_help=True, help="Read or erase personal data (every read is logged).")
app.add_typer(actor_app, name="actor")
app.add_typer(pii_app, name="pii")

STATE: dict[str, Any] = {}
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, status: int) -> NoReturn:
    label = t("refused") if status == 1 else t("error")
    typer.echo(f"{label}: {message}", err=True)
    raise typer.Exit(status)


@contextmanager
def session(*, create: bool = False, heal: bool = False) -> Iterator[Any]:
    """Open the ledger named by --db with the keystore of --keys; map errors to exit codes.

    Only ``create`` (init, demo) may make a new database: every other verb refuses to, so a
    mistyped ``--db`` or a run in the wrong folder leaves no empty ledger behind. ``heal`` (the
    verbs that write the log) first signs the checkpoint a crashed command left unsigned.
    """
    from ledger.persistence.store import DatabaseURL
    from ledger.service import Session

    sess = None
    try:
        if not create and not DatabaseURL(STATE["db"]).holds_ledger():
            raise OperationalError(t("no_ledger", db=STATE["db"]))
        sess = Session.open(STATE["db"], STATE["keys"])
        sess.checkpoint_interval = float(os.environ.get("LEDGER_CHECKPOINT_INTERVAL", "1"))
        if heal and (size := sess.sign_missing_checkpoint()) is not None:
            typer.echo(t("checkpoint_healed", size=size), err=True)
        yield sess
    except typer.Exit:
        raise
    except (Refused, VerificationFailed) as exc:
        fail(str(exc), 1)
    except LedgerError as exc:
        fail(str(exc), 2)
    except KeyboardInterrupt:
        fail("interrupted", 2)
    except BrokenPipeError:
        raise  # the reader went away (``log --json | head``): click ends quietly, exit status 1
    except Exception as exc:  # no traceback reaches a user
        fail(f"{t('internal')}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", 2)
    finally:
        if sess is not None:
            sess.close()


@app.callback()
def main(
    db: Annotated[str, typer.Option("--db", envvar="LEDGER_DB", help="sqlite:///FILE or postgresql://…")] = "sqlite:///ledger.db",
    keys: Annotated[str, typer.Option("--keys", envvar="LEDGER_KEYS", help="keystore folder")] = "./keys",
    lang: Annotated[str, typer.Option("--lang", envvar="LEDGER_LANG", help="zh | en")] = "zh",
) -> None:
    if lang not in ("zh", "en"):
        fail("--lang must be zh or en", 2)
    os.environ["LEDGER_LANG"] = lang
    STATE.update(db=db, keys=keys)


# --- init and actors ---------------------------------------------------------------------------
@app.command()
def init(
    admin_id: Annotated[str, typer.Option(help="id of the first admin (leaf 0)")] = "admin",
    origin: Annotated[str, typer.Option(help="checkpoint origin line")] = "guyuan.subsidy-ledger",
    admin_name: Annotated[str, typer.Option(help="name of the admin organisation")] = "固原市人力资源和社会保障局",
    jurisdiction: Annotated[str, typer.Option(help="admin's jurisdiction code")] = "640400",
) -> None:
    """Create the genesis admin (leaf 0), the operator key and the pepper."""
    with session(create=True) as s:
        s.init(admin_id, origin, admin_name, jurisdiction)
        typer.echo(t("init_done", admin=admin_id, verifier=s.keys.operator_verifier()))


@actor_app.command("add")
def actor_add(
    id: Annotated[str, typer.Option("--id", help="actor id")],
    role: Annotated[str, typer.Option(help="role (DESIGN §2)")],
    jurisdiction: Annotated[str, typer.Option(help="jurisdiction code")],
    name: Annotated[str, typer.Option(help="organisation name")],
    public_key: Annotated[Path | None, typer.Option(help="the organisation's own public key (PEM or base64)")] = None,
    uscc: Annotated[str | None, typer.Option(help="统一社会信用代码")] = None,
) -> None:
    """Register an actor (signed by the admin); without --public-key the keystore makes its key."""
    from ledger.service import read_public_key

    with session(heal=True) as s:
        raw = read_public_key(public_key) if public_key else None
        out = s.add_actor(id, role, jurisdiction, name, raw, uscc)
        typer.echo(t("actor_added", actor=id, role=role, jurisdiction=jurisdiction, seq=out.seq))


@actor_app.command("rotate")
def actor_rotate(
    actor_id: Annotated[str, typer.Argument(help="actor id")],
    public_key: Annotated[Path | None, typer.Option(help="the new public key (PEM or base64)")] = None,
    by_self: Annotated[bool, typer.Option("--self", help="sign with the actor's current key instead of the admin's")] = False,
) -> None:
    """Rotate an actor's key: its old key signs nothing after this leaf."""
    from ledger.service import read_public_key

    with session(heal=True) as s:
        raw = read_public_key(public_key) if public_key else None
        out = s.rotate_actor(actor_id, raw, by_self)
        actor = s.ledger.actor(actor_id)
        typer.echo(t("actor_rotated", actor=actor_id, seq=out.seq, key_id=actor.current_key_id if actor else "?"))


@actor_app.command("revoke")
def actor_revoke(
    actor_id: Annotated[str, typer.Argument(help="actor id")],
    reason: Annotated[str, typer.Option(help="why")],
    effective_at: Annotated[str | None, typer.Option(help="RFC 3339; may lie in the past")] = None,
    key_id: Annotated[str | None, typer.Option(help="key to revoke (default: current)")] = None,
) -> None:
    """Revoke an actor's key (signed by the admin)."""
    with session(heal=True) as s:
        actor = s.ledger.actor(actor_id)
        target = key_id or (actor.current_key_id if actor else None)
        out = s.revoke_actor(actor_id, reason, effective_at, key_id)
        typer.echo(t("actor_revoked", actor=actor_id, key_id=target, seq=out.seq))


# --- submit and import ------------------------------------------------------------------------------
def _read_text(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _project(s: Any) -> None:
    """Catch the read models and anomaly flags up with the log (the log stays the record)."""
    from api.cli_projections import project

    project(s.ledger)


def _count_lines(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


@app.command()
def submit(
    file: Annotated[str, typer.Argument(help="a JSON file with one envelope or intent, or - for stdin")] = "-",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record one envelope, or one intent signed with the actor's key from the keystore."""
    with session(heal=True) as s:
        out = s.submit(_read_text(file))
        if out.status == "accepted":
            _project(s)
        if as_json:
            typer.echo(json.dumps(out.as_json(1), ensure_ascii=False))
        elif out.status == "refused":
            pass
        else:
            typer.echo(t(out.status, seq=out.seq))
        if out.status == "refused":
            fail(out.reason or "", 1)


@app.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="JSON Lines file of envelopes or intents, or - for stdin")],
    sign: Annotated[bool, typer.Option("--sign", help="sign unsigned intents with keys from the keystore")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line on stdout")] = False,
) -> None:
    """Import JSON Lines; report each line: accepted (seq), duplicate (seq) or refused (reason)."""
    from api.progress import progress_bar

    if file != "-" and Path(file).is_dir():
        fail(t("is_folder", path=file), 2)
    if file != "-" and not Path(file).is_file():
        fail(f"cannot read {file}: no such file", 2)
    counts: Counter[str] = Counter()
    with session(heal=True) as s:
        handle = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
        stopped: ImportStopped | None = None
        try:
            total = None if file == "-" else _count_lines(file)
            with progress_bar(t("importing"), total) as advance:
                for line, out in s.import_lines(handle, sign=sign, progress=advance):
                    counts[out.status] += 1
                    if as_json:
                        typer.echo(json.dumps(out.as_json(line), ensure_ascii=False))
                    elif out.status == "refused":
                        typer.echo(t("line_refused", line=line, reason=out.reason), err=True)
        except UnicodeDecodeError:
            raise OperationalError(f"{file} is not UTF-8 text") from None
        except ImportStopped as exc:
            stopped = exc  # the lines before it were appended, reported and checkpointed
        finally:
            if handle is not sys.stdin:
                handle.close()
        if counts["accepted"]:
            _project(s)
        summary = t(
            "import_summary", total=sum(counts.values()), accepted=counts["accepted"],
            duplicate=counts["duplicate"], refused=counts["refused"], size=s.ledger.size(),
        )  # fmt: skip
        typer.echo(summary, err=as_json or stopped is not None)
        if stopped is not None:
            fail(f"{t('internal')}: {stopped}" if stopped.internal else str(stopped), 2)
    if counts["refused"]:
        raise typer.Exit(1)


# --- reading the log ----------------------------------------------------------------------------------
@app.command()
def log(
    as_json: Annotated[bool, typer.Option("--json", help="one leaf per line, exact bytes")] = False,
    start: Annotated[int, typer.Option("--from", help="first seq")] = 0,
    limit: Annotated[int | None, typer.Option(help="at most this many leaves")] = None,
) -> None:
    """List the log in seq order."""
    from ledger.domain.aggregates import SUBJECT
    from ledger.encoding.canonical import loads_strict

    with session() as s:
        stop = None if limit is None else start + limit
        shown = 0
        for seq, recorded_at, leaf in s.ledger.leaves(start, stop):
            shown += 1
            if as_json:
                typer.echo(leaf.decode("utf-8"))
                continue
            env = loads_strict(leaf)["envelope"]
            subject = env["body"].get(SUBJECT[env["type"]][1], "") if env["type"] in SUBJECT else ""
            officer = f" [{env['officer']}]" if "officer" in env else ""
            typer.echo(f"{seq:>8}  {recorded_at}  {env['at']:<25}  {env['actor']:<18}{officer}  {env['type']:<24} {subject}")
        if not shown and not as_json:
            typer.echo(t("log_empty"))


# --- personal data --------------------------------------------------------------------------------------
@pii_app.command("show")
def pii_show(
    laborer_id: Annotated[str, typer.Argument(help="labourer id")],
    as_actor: Annotated[str, typer.Option("--as", help="the actor reading (its key signs the access record)")],
    purpose: Annotated[str, typer.Option(help="why the data is read")] = "核实身份 identity check",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a labourer's personal data; the read is recorded first (PersonalDataAccessed)."""
    with session(heal=True) as s:
        record = s.show_pii(laborer_id, as_actor, purpose)
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))
        else:
            labels = {"name": "姓名 name", "id_number": "身份证号 ID", "phone": "电话 phone", "bank_account": "银行账号 account"}
            for key, label in labels.items():
                typer.echo(f"{label}: {record.get(key, '')}")
            typer.echo(t("pii_shown", seq=s.ledger.size() - 1), err=True)


@pii_app.command("erase")
def pii_erase(
    laborer_id: Annotated[str, typer.Argument(help="labourer id")],
    as_actor: Annotated[str, typer.Option("--as", help="the poverty office erasing")],
    reason: Annotated[str, typer.Option(help="why")] = "本人申请删除 erasure requested",
) -> None:
    """Erase a labourer's personal data from the vault and record PersonalDataErased."""
    from ledger.errors import AlreadyErased

    with session(heal=True) as s:
        try:
            out = s.erase_pii(laborer_id, as_actor, reason)
        except AlreadyErased as done:  # like a duplicate: reported with its seq, not recorded twice
            typer.echo(t("pii_already_erased", laborer=laborer_id, seq=done.seq))
            return
        typer.echo(t("pii_erased", laborer=laborer_id, seq=out.seq))


def _register_other_verbs() -> None:
    import importlib

    for module in ("api.cli_log", "api.cli_projections", "api.cli_anomalies", "api.cli_demo", "api.cli_backup"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_other_verbs()


def run() -> None:
    """Console entry point: no traceback ever reaches a user."""
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # pragma: no cover - last resort
        typer.echo(f"{t('internal')}: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(2) from None
