"""The verbs' server path (API.md "Client"): with ``--server URL`` they talk to a server, never a local database.

Each verb that has one checks :attr:`Options.server` first and, when it is set, calls the
function here instead of opening a session: ``submit``, ``import``, ``verify`` (a monitor),
``checkpoint --cosign`` (a witness), ``balances``, ``anomalies``, ``anomalies show``, ``pii``,
``export evidence``, ``trace``, ``report monthly`` and ``reconcile`` (``--record`` signed here). Intents
are signed here with the keystore's key (as the local ``--sign``); the key never leaves this
machine. Reads sign in as ``--as ACTOR`` (``LEDGER_ACTOR``), by default the one actor whose key
the keystore holds. Output and exit statuses are the local verbs'.
"""

from __future__ import annotations

import io
import json
import secrets
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, cast

import typer

from api.cli.root import Options, echo_json, errors, fail
from api.client import ApiClient, Monitor, witness_cosign
from api.i18n import error_text, reason_text
from ledger.application import Outcome
from ledger.encoding.canonical import JSONObject, JSONValue, loads_strict
from ledger.errors import LedgerError, OperationalError, Refused, VerificationFailed
from ledger.keys.keystore import Keystore
from ledger.keys.signing import IntentSigner
from ledger.service import now_at
from ledger.translog.export.bundle import prepare, usable

if TYPE_CHECKING:
    from projections.anomalies.query import EvidenceEvent, Flag, FlagWithHistory
    from projections.readmodels.balances import Balances

TEXT = {
    "monitored": (
        "监测通过：服务器 {server} 的检查点 {size}（{origin}）与此前校验的检查点 {previous} 一致；本次下载并校验 {n} 条新记录{cosigners}",
        "verify --server: intact — checkpoint {size} ({origin}) of {server} is consistent with checkpoint {previous}"
        " verified before; {n} new leaves downloaded and verified{cosigners}",
    ),
    "monitored_first": (
        "监测通过：服务器 {server} 的检查点 {size}（{origin}）；本次下载并校验 {n} 条记录{cosigners}（首次监测，状态 → {state}）",
        "verify --server: intact — checkpoint {size} ({origin}) of {server}; {n} leaves downloaded and verified"
        "{cosigners} (first run, state → {state})",
    ),
    "cosigners": ("；已由 {names} 联署", "; cosigned by {names}"),
    "tofu": (
        "注意：首次使用即信任（TOFU）——运营方公钥取自本机密钥库的 operator.pub，而非 --operator-key；已记住该公钥，此后只信任它",
        "warning: trusting on first use (TOFU) — the operator key came from this keystore's operator.pub, not"
        " --operator-key; it is remembered and trusted from now on",
    ),
    "not_intact": ("防篡改校验未通过：{where} —— {reason}", "verify: NOT intact — {where}: {reason}"),
    "recon_recorded": ("已记录对账结果：seq {seq}（{id}）", "reconciliation recorded: seq {seq} ({id})"),
    "recon_duplicate": ("重复：同一对账单、同一结果已记录（{id}）；未重复记录",
                        "duplicate: the same statement with the same outcome is already recorded ({id}); nothing recorded"),
    "no_actor": (
        "--server 需要以某个主体登录：用 --as ACTOR（或 LEDGER_ACTOR）指定，{keys}/actors/ 中有 {n} 个密钥",
        "--server needs an actor to sign in as: pass --as ACTOR (or LEDGER_ACTOR); {keys}/actors/ holds {n} keys",
    ),
}


@contextmanager
def client(o: Options) -> Iterator[ApiClient]:
    """A client of ``--server`` with the keystore of ``--keys``, every failure one line (:func:`errors`)."""
    assert o.server is not None
    with errors(o):
        if not o.server.startswith(("http://", "https://")):
            raise OperationalError(f"--server {o.server}: not an http:// or https:// URL")
        with ApiClient(o.server, Keystore(o.keys)) as c:
            yield c


def reader(o: Options) -> str:
    """The actor reads sign in as: ``--as``, else the one actor whose key the keystore holds."""
    if o.reader:
        return o.reader
    found = sorted(p.stem for p in (Path(o.keys) / "actors").glob("*.pem"))
    if len(found) != 1:
        fail(o, o.say(TEXT, "no_actor", keys=o.keys, n=len(found)), 2)
    return found[0]


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _signed(text: str, signer: IntentSigner | None, c: ApiClient) -> str | Outcome:
    """The envelope to post for one line: an intent signed here — one with ``pii`` first prepared
    by the service (``POST /v1/intents/prepare``), which alone holds the pepper — anything else as
    it is (the server judges it); a refusal while preparing or signing is the line's outcome."""
    try:
        obj = loads_strict(text)
    except LedgerError:
        return text
    if signer is None or not isinstance(obj, dict) or "sig" in obj:
        return text
    try:
        item = signer.sign(c.prepare(obj) if "pii" in obj else obj)
    except Refused as exc:
        return Outcome.refused(exc)
    assert item.envelope is not None
    return item.envelope.canonical_bytes.decode("utf-8")


def _signer(o: Options) -> IntentSigner:
    return IntentSigner(Keystore(o.keys).actor_key)  # no pepper: personal data goes through the service


def submit(o: Options, file: str, as_json: bool, accepted: dict[str, tuple[str, str]]) -> None:
    """``submit --server``: one envelope, or one intent signed here."""
    with client(o) as c:
        envelope = _signed(_read(file).strip(), _signer(o), c)
        out = envelope if isinstance(envelope, Outcome) else c.submit(envelope)
    if as_json:
        echo_json({**out.as_json(1), "reason": reason_text(out, o.lang)})
    elif out.status != "refused":
        typer.echo(o.say(accepted, out.status, seq=out.seq))
    if out.status == "refused":
        fail(o, reason_text(out, o.lang) or "", 1)


def import_(o: Options, file: str, sign: bool, as_json: bool, text: dict[str, tuple[str, str]]) -> None:
    """``import --server``: the lines (intents signed here with ``--sign``) as ndjson batches."""
    with client(o) as c:
        lines = _read(file).split("\n")
        signer = _signer(o) if sign else None
        outcomes: dict[int, Outcome] = {}
        posted: list[str] = []
        for n, line in enumerate(lines, start=1):
            got = _signed(line, signer, c) if line.strip() else ""
            if isinstance(got, Outcome):
                outcomes[n] = got
                got = ""  # a blank line keeps the server's numbering the file's
            posted.append(got)
        stopped: LedgerError | None = None
        if any(x.strip() for x in posted):
            try:
                for n, out in c.submit_batch(posted):
                    outcomes[n] = out
            except LedgerError as exc:  # the lines before it are recorded: reported below, then the error
                stopped = exc
        try:
            size = c.health().get("size")
        except LedgerError:  # the server that stopped the batch may be unreachable now
            size = "?"
    counts = {"accepted": 0, "duplicate": 0, "refused": 0}
    for n in sorted(outcomes):
        out = outcomes[n]
        counts[out.status] += 1
        if as_json:
            echo_json({**out.as_json(n), "reason": reason_text(out, o.lang)})
        elif out.status == "refused":
            typer.echo(o.say(text, "line_refused", line=n, reason=reason_text(out, o.lang)), err=True)
    typer.echo(o.say(text, "import_summary", total=sum(counts.values()), accepted=counts["accepted"],
                     duplicate=counts["duplicate"], refused=counts["refused"], size=size),
               err=as_json or stopped is not None)  # fmt: skip
    if stopped is not None:
        with errors(o):
            raise stopped
    if counts["refused"]:
        raise typer.Exit(1)


def verify(o: Options, operator_key: str | None, as_json: bool) -> None:
    """``verify --server``: the monitor (:class:`api.client.Monitor`)."""
    who = reader(o)
    with client(o) as c:
        try:
            done = Monitor(c, who, operator_key).run()
        except VerificationFailed as exc:
            where = (f"checkpoint {exc.checkpoint}" if exc.checkpoint is not None
                     else f"seq {exc.seq}" if exc.seq is not None else "log")  # fmt: skip
            if as_json:
                echo_json({"intact": False, "server": o.server, "code": exc.code, "reason": str(exc),
                           "seq": exc.seq, "checkpoint": exc.checkpoint})  # fmt: skip
            typer.echo(o.say(TEXT, "not_intact", where=where, reason=error_text(exc, o.lang)), err=True)
            raise typer.Exit(1) from None
    if as_json:
        echo_json({"intact": True, "server": o.server, "origin": done.origin, "size": done.size,
                   "previous": done.previous, "downloaded": done.downloaded, "cosigners": done.cosigners,
                   "tofu": done.tofu, "state": done.state})  # fmt: skip
        return
    cosigners = o.say(TEXT, "cosigners", names=", ".join(done.cosigners)) if done.cosigners else ""
    if done.previous is None:
        typer.echo(o.say(TEXT, "monitored_first", server=o.server, size=done.size, origin=done.origin, n=done.downloaded,
                         cosigners=cosigners, state=done.state))  # fmt: skip
    else:
        typer.echo(o.say(TEXT, "monitored", server=o.server, size=done.size, origin=done.origin, previous=done.previous,
                         n=done.downloaded, cosigners=cosigners))  # fmt: skip
    if done.tofu:
        typer.echo(o.say(TEXT, "tofu"))


def cosign(o: Options, actor: str, operator_key: str | None, text: dict[str, tuple[str, str]]) -> None:
    """``checkpoint --cosign ACTOR --server``: the witness (:func:`api.client.witness_cosign`)."""
    with client(o) as c:
        done = witness_cosign(c, actor, operator_key)
    if done.already:
        typer.echo(o.say(text, "already", actor=actor, size=done.size))
    elif done.previous is None:
        typer.echo(o.say(text, "cosigned_first", actor=actor, size=done.size))
    else:
        typer.echo(o.say(text, "cosigned", actor=actor, size=done.size, previous=done.previous))
    typer.echo(done.note, nl=False)


def pii_show(o: Options, laborer_id: str, as_actor: str, purpose: str) -> tuple[dict[str, str], int]:
    """``pii show --server``: the read recorded first — a ``PersonalDataAccessed`` signed here and
    posted — then the record read once against that leaf (``GET /v1/laborers/{id}/pii``)."""
    with client(o) as c:
        seq = _record(c, o, as_actor, "PersonalDataAccessed", {"laborer_id": laborer_id, "purpose": purpose})
        return c.personal_data(as_actor, laborer_id, seq), seq


def pii_erase(o: Options, laborer_id: str, as_actor: str, reason: str) -> int:
    """``pii erase --server``: a ``PersonalDataErased`` signed here; the server deletes the record as it appends it."""
    with client(o) as c:
        return _record(c, o, as_actor, "PersonalDataErased", {"laborer_id": laborer_id, "reason": reason})


def _record(c: ApiClient, o: Options, actor: str, event_type: str, body: JSONObject) -> int:
    """Sign ``body`` as ``actor`` now, post it, and return its seq; a refusal is raised."""
    intent: JSONObject = {"type": event_type, "actor": actor, "at": now_at(), "nonce": "op-" + secrets.token_hex(12), "body": body}
    item = _signer(o).sign(intent)
    assert item.envelope is not None
    out = c.submit(item.envelope.canonical_bytes.decode("utf-8"))
    if out.status == "refused" or out.seq is None:
        err = Refused(f"the server refused the {event_type}: {out.reason}", zh=f"服务器拒绝了 {event_type}：{out.reason}")
        err.code = out.code or "refused"
        raise err
    return out.seq


def export_evidence(o: Options, kind: str, ident: str, directory: str) -> tuple[int, int, str]:
    """``export evidence --server``: the server's zip unpacked into DIR (an empty or new folder);
    ``(leaves, checkpoint size, folder)``. Only the bundle's own files are written, none outside DIR."""
    who = reader(o)
    with client(o) as c:
        usable(directory)
        data = c.evidence(who, kind, ident)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                files = {}
                for name in archive.namelist():
                    parts = PurePosixPath(name).parts
                    if len(parts) != 2 or parts[1] in ("", ".", "..") or name.startswith("/"):
                        raise OperationalError(f"the server's evidence zip holds an unexpected entry {name!r}",
                                               zh=f"服务器返回的证据包含有意外的条目 {name!r}")  # fmt: skip
                    files[parts[1]] = archive.read(name)
            size = json.loads(files["proofs.json"])["size"]
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError):
            raise OperationalError("the server's answer is not an evidence bundle", zh="服务器的应答不是证据包") from None
        folder = prepare(directory)
        for name, content in files.items():
            (folder / name).write_bytes(content)
    return files["entries.jsonl"].count(b"\n"), int(size), str(folder)


def balances(o: Options, **params: object) -> Balances:
    """``GET /v1/balances`` as the reader: the ``balances --json`` document."""
    who = reader(o)
    with client(o) as c:
        return cast("Balances", c.balances(who, **params))


def anomalies(o: Options, **params: object) -> list[Flag]:
    """``GET /v1/anomalies`` as the reader: RULES.md flag objects in its scope."""
    who = reader(o)
    with client(o) as c:
        return cast("list[Flag]", c.anomalies(who, **params))


def anomaly(o: Options, anomaly_id: str, as_of: int | None = None) -> tuple[FlagWithHistory, list[EvidenceEvent]]:
    """``GET /v1/anomalies/{id}``: the flag with its history (as it stood at ``as_of``), and its evidence leaves."""
    who = reader(o)
    with client(o) as c:
        doc = c.anomaly(who, anomaly_id, as_of=as_of)
    return cast("FlagWithHistory", {**doc["flag"], "history": doc["history"]}), cast("list[EvidenceEvent]", doc["evidence"])


def size(o: Options) -> int | None:
    """The last seq of the server's log (``/healthz``), as a listing's title names it; None when empty."""
    with client(o) as c:
        found = c.health().get("size")
    return found - 1 if isinstance(found, int) and found > 0 else None


def write(data: bytes) -> None:
    """A document as the server sent it, byte for byte, on stdout (the local verbs' ``--json`` bytes)."""
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def trace(o: Options, kind: str, ident: str, *, checkpoint: int | None, start: int, limit: int | None) -> bytes:
    """``GET /v1/trace/{kind}/{id}`` as the reader: the ``trace --json`` bytes."""
    who = reader(o)
    with client(o) as c:
        return c.trace(who, kind, ident, checkpoint=checkpoint, limit=limit, **{"from": start})


def monthly_report(o: Options, **params: object) -> bytes:
    """``GET /v1/reports/monthly`` as the reader: the report's bytes (``month``, ``jurisdiction``,
    ``format``, ``as_of``, ``compare_with``, ``lang``)."""
    who = reader(o)
    with client(o) as c:
        return c.monthly_report(who, **params)


def reconcile(o: Options, statement: Path, bureau: str, *, funds: list[str] | None, **params: object) -> dict[str, JSONValue]:
    """``POST /v1/reconciliations``: the statement uploaded (the service holds the pepper that
    fingerprints its accounts); the ``reconcile --json`` document. A finance bureau signs in as
    itself; an inspector (``--as`` globally) names the bureau."""
    who = o.reader or bureau
    with client(o) as c:
        try:
            data = statement.read_bytes()
        except OSError as exc:
            raise OperationalError(f"cannot read {statement}: {exc.strerror}", zh=f"无法读取 {statement}：{exc.strerror}") from None
        raw = c.reconcile(who, statement.name, data, funds=funds, actor=bureau, **params)
    found = loads_strict(raw)
    assert isinstance(found, dict)
    return found


def record_reconciliation(o: Options, result: dict[str, JSONValue], as_json: bool) -> None:
    """``reconcile --server --record``: ``ReconciliationRecorded`` signed here with the bureau's key and
    posted; the same outcome recorded before is a duplicate (exit 0), as on the operator's machine."""
    from projections.reconciliation.result import recorded_body

    actor, ident = str(result["actor"]), result["reconciliation_id"]
    with client(o) as c:
        try:
            seq = _record(c, o, actor, "ReconciliationRecorded", recorded_body(result))
        except Refused as exc:
            if exc.code != "already_exists":
                raise
            typer.echo(o.say(TEXT, "recon_duplicate", id=ident), err=as_json)
            return
    typer.echo(o.say(TEXT, "recon_recorded", seq=seq, id=ident), err=as_json)
