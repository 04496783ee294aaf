"""Verbs of the tamper-evident log: ``log``, ``verify``, ``checkpoint``, ``proof``, ``export`` (DESIGN §6, §9).

Thin: parse, call :mod:`api.services` or :mod:`ledger.translog` (``verify``, ``cosign``,
``proofs``, ``export``), format. A failed check exits 1 with one line naming the first bad ``seq``
(or checkpoint) and why; operational errors exit 2; progress goes to stderr. Text is Chinese
first (``--lang en`` for English).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.projections import check_projections, consistent, say_projections
from api.cli.root import JsonFlag, Options, echo_json, fail, lang_option, options, session
from api.i18n import error_text
from ledger.errors import VerificationFailed

if TYPE_CHECKING:
    from collections.abc import Callable

    from ledger import Progress
    from ledger.service import Session
    from ledger.translog.export import Exported
    from ledger.translog.verify import Intact

TEXT = {
    "log_empty": ("日志为空", "the log is empty"),
    "verifying": ("防篡改校验", "verifying"),
    "intact": (
        "防篡改校验通过：{size} 条记录及其签名完整有效，{checkpoints} 个检查点一致（最新检查点大小 {latest}）{tail}；用时 {elapsed:.1f} 秒",
        "verify: intact — {size} leaves and their signatures valid, {checkpoints} checkpoints consistent (latest size {latest}){tail}; {elapsed:.1f} s",
    ),
    "tail": ("，其后 {n} 条尚未被检查点覆盖", ", {n} newer leaves not yet under a checkpoint"),
    "anchor": ("；信任锚：大小 {size}", "; trust anchor: size {size}"),
    "cosigners": ("；最新检查点已由 {names} 联署", "; latest checkpoint cosigned by {names}"),
    "not_intact": ("防篡改校验未通过：{where} —— {what}：{reason}", "verify: NOT intact — {where}: {what}: {reason}"),
    "at_seq": ("seq {seq}", "seq {seq}"),
    "at_checkpoint": ("检查点 {size}", "checkpoint {size}"),
    "at_log": ("日志", "log"),
    "witnessed": ("；见证方 {names} 已联署", "; witnessed by {names}"),
    "tofu": (
        "注意：首次使用即信任（TOFU）——没有信任锚（{path} 不存在），也没有 --operator-key 或 --witness："
        "运营方公钥和检查点都来自运营方自己的密钥库和数据库，运营方改写全部历史并重新签名同样能通过。"
        "未写入信任锚；确认无误后加 --trust-first-use 记录，或用 --anchor 指定存放在运营方之外的信任锚",
        "warning: trusting on first use (TOFU) — no trust anchor ({path} does not exist), no --operator-key,"
        " no --witness: the operator key and checkpoints come from the operator's own keystore and database,"
        " so a history the operator rewrote and re-signed would pass too. No anchor written; pass"
        " --trust-first-use to record one, or --anchor FILE for an anchor kept outside the operator's keystore",
    ),
    "tofu_recorded": (
        "注意：首次使用即信任（TOFU，--trust-first-use）：已把本次校验通过的检查点 {size} 记录为信任锚 → {path}",
        "warning: trust on first use (TOFU, --trust-first-use): recorded the verified checkpoint {size} as the trust anchor → {path}",
    ),
    "anchor_recorded": (
        "已把本次校验通过的检查点 {size} 记录为信任锚（--trust-first-use）→ {path}",
        "recorded the verified checkpoint {size} as the trust anchor (--trust-first-use) → {path}",
    ),
    "no_anchor": (
        "注意：没有信任锚（{path} 不存在），未写入；加 --trust-first-use 把本次校验通过的检查点记录为信任锚",
        "note: no trust anchor ({path} does not exist) and none written; pass --trust-first-use to record the verified checkpoint",
    ),
    "signed": ("已签署检查点：{origin} 大小 {size}，根 {root}", "checkpoint signed: {origin} size {size}, root {root}"),
    "cosigned": (
        "{actor} 已联署检查点 {size}（与上次联署的检查点 {previous} 一致）",
        "{actor} cosigned checkpoint {size} (consistent with checkpoint {previous} it cosigned before)",
    ),
    "cosigned_first": ("{actor} 已联署检查点 {size}（首次联署）", "{actor} cosigned checkpoint {size} (its first cosignature)"),
    "already": ("{actor} 已联署过检查点 {size}", "{actor} had already cosigned checkpoint {size}"),
    "no_checkpoint": ("尚无检查点", "no checkpoint yet"),
    "rotated": (
        "运营方密钥已更换：检查点 {size} 由旧密钥与新密钥双签，此后只用新密钥签署。新公钥（请公布）：{new}；旧公钥：{old}",
        "operator key changed: checkpoint {size} is signed by the old and the new key; only the new key signs from now on."
        " New key (publish it): {new}; old key: {old}",
    ),
    "show": ("检查点：{origin} 大小 {size}，根 {root}，签署于 {signed_at}", "checkpoint: {origin} size {size}, root {root}, signed {signed_at}"),
    "operator_ok": ("运营方签名：有效", "operator signature: valid"),
    "operator_bad": ("运营方签名：无效（与受信任的运营方公钥不符）", "operator signature: INVALID (not by the trusted operator key)"),
    "cosig": ("联署：{name}（{time}）{state}", "cosignature: {name} ({time}) {state}"),
    "valid": ("有效", "valid"),
    "invalid": ("无效", "INVALID"),
    "no_cosig": ("联署：无", "cosignatures: none"),
    "exported_log": ("已导出完整日志：{leaves} 条记录，检查点大小 {size} → {dir}", "log exported: {leaves} leaves under checkpoint {size} → {dir}"),
    "exported_evidence": (
        "已导出证据包 {kind} {id}：{leaves} 条记录（含签名单位的密钥登记记录），检查点大小 {size} → {dir}",
        "evidence bundle {kind} {id} exported: {leaves} leaves (with the signers' registry leaves) under checkpoint {size} → {dir}",
    ),
    "exporting": ("导出", "exporting"),
    "unsigned": (
        "注意：本机没有运营方私钥，导出使用已存储的最新检查点（大小 {size}）",
        "note: no operator key here; exported under the latest stored checkpoint (size {size})",
    ),
}

WHAT = {
    "leaf_tampered": ("记录被篡改", "leaf tampered"),
    "leaf_missing": ("记录缺失", "leaf missing"),
    "signature_invalid": ("签名无效", "signature invalid"),
    "key_not_valid": ("该位置的密钥无效", "key not valid at this position"),
    "registry_invalid": ("密钥登记记录无效", "registry leaf invalid"),
    "event_mismatch": ("领域事件与日志不一致", "domain event does not match the log"),
    "tree_mismatch": ("Merkle 树节点不一致", "Merkle tree mismatch"),
    "checkpoint_mismatch": ("检查点不符", "checkpoint mismatch"),
    "checkpoint_inconsistent": ("检查点不一致", "checkpoint inconsistent"),
    "trust_anchor_mismatch": ("与此前信任的检查点不符", "trust anchor mismatch"),
    "key_index_mismatch": ("密钥索引不符", "key index mismatch"),
    "witness_missing": ("缺少见证方联署", "witness cosignature missing"),
}


def register(app: typer.Typer) -> None:
    app.command()(log)
    app.command()(verify)
    checkpoint_app = typer.Typer(
        invoke_without_command=True, no_args_is_help=False,
        help="检查点 checkpoint: sign one now, show the latest, or cosign it (联署).",
    )  # fmt: skip
    checkpoint_app.callback()(checkpoint)
    checkpoint_app.command("show")(checkpoint_show)
    checkpoint_app.command("rotate-operator")(checkpoint_rotate_operator)
    checkpoint_app.command("witness-key")(checkpoint_witness_key)
    proof_app = typer.Typer(no_args_is_help=True, help="包含证明 / 一致性证明: RFC 9162 proofs as JSON.")
    proof_app.command("inclusion")(proof_inclusion)
    proof_app.command("consistency")(proof_consistency)
    export_app = typer.Typer(no_args_is_help=True, help="导出 / 证据包: folders anyone can check with openssl and sha256sum.")
    export_app.command("log")(export_log_cmd)
    export_app.command("evidence")(export_evidence_cmd)
    app.add_typer(checkpoint_app, name="checkpoint")
    app.add_typer(proof_app, name="proof")
    app.add_typer(export_app, name="export")


OperatorKey = Annotated[
    str | None,
    typer.Option("--operator-key", help="trusted operator verifier key, or a file of them (default: keystore operator.pub)"),
]
Lang = Annotated[str | None, typer.Option("--lang", help="zh | en (same as the global --lang)")]


# --- reading the log ----------------------------------------------------------------------------------
def log(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="one leaf per line, exact bytes")] = False,
    start: Annotated[int, typer.Option("--from", help="first seq")] = 0,
    limit: Annotated[int | None, typer.Option(help="at most this many leaves")] = None,
) -> None:
    """List the log in seq order."""
    from api import services
    from ledger.domain.aggregates import SUBJECT
    from ledger.encoding.canonical import loads_strict

    o = options(ctx)
    with session(o) as s:
        shown = 0
        for seq, recorded_at, leaf in services.log_page(s.ledger, start, limit):
            shown += 1
            if as_json:
                typer.echo(leaf.decode("utf-8"))
                continue
            env = loads_strict(leaf)["envelope"]
            subject = env["body"].get(SUBJECT[env["type"]][1], "") if env["type"] in SUBJECT else ""
            officer = f" [{env['officer']}]" if "officer" in env else ""
            typer.echo(f"{seq:>8}  {recorded_at}  {env['at']:<25}  {env['actor']:<18}{officer}  {env['type']:<24} {subject}")
        if not shown and not as_json:
            typer.echo(o.say(TEXT, "log_empty"))


# --- verify ---------------------------------------------------------------------------------------------
def verify(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    operator_key: OperatorKey = None,
    workers: Annotated[int | None, typer.Option(help="worker processes for signatures (default: every core)")] = None,
    lang_: Lang = None,
    anchor_file: Annotated[str | None, typer.Option("--anchor", metavar="FILE",
                           help="trust anchor kept outside the operator's keystore (default: keys/trusted.json)")] = None,  # fmt: skip
    witness: Annotated[list[str] | None, typer.Option("--witness", metavar="KEY",
                       help="require this witness's cosignature (C2SP verifier key, or a file of one); repeatable")] = None,  # fmt: skip
    trust_first_use: Annotated[bool, typer.Option("--trust-first-use",
                               help="with no anchor yet, record the verified checkpoint as the anchor")] = False,  # fmt: skip
    projections: Annotated[bool, typer.Option("--projections",
                           help="also replay the log and compare every projection table with it (投影一致性)")] = False,  # fmt: skip
) -> None:
    """防篡改校验: check every leaf, signature, Merkle node and checkpoint; exit 1 at the first bad one."""
    o = options(ctx)
    if lang_ is not None:
        o = dataclasses.replace(o, lang=lang_option(lang_, o.lang))
    if o.server is not None:  # a monitor of the server's log (API.md "Client")
        from api.cli import remote

        return remote.verify(o, operator_key, as_json)
    verify_ledger(o, as_json=as_json, operator_key=operator_key, workers=workers, anchor_file=anchor_file,
                  witness=witness or (), trust_first_use=trust_first_use, projections=projections)  # fmt: skip


def verify_ledger(o: Options, *, as_json: bool = False, operator_key: str | None = None, workers: int | None = None,
                  anchor_file: str | None = None, witness: tuple[str, ...] | list[str] = (),
                  trust_first_use: bool = False, projections: bool = False) -> None:  # fmt: skip
    """``verify`` itself, also run by ``restore`` on what it restored."""
    from api.progress import progress_bar
    from ledger.translog.verify import failure_json, load_trust, run_verify

    with session(o) as s:
        size = s.ledger.size()
        trust = load_trust(s.keys, operator_key, anchor_file, witness)
        try:
            with progress_bar(o.say(TEXT, "verifying"), size) as advance:
                intact = run_verify(s.ledger, s.keys, workers=workers, progress=advance, trust=trust,
                                    trust_first_use=trust_first_use)  # fmt: skip
        except VerificationFailed as exc:
            if as_json:
                echo_json({**failure_json(exc, size), **trust.as_json(False)})
            else:
                where = (o.say(TEXT, "at_seq", seq=exc.seq) if exc.seq is not None
                         else o.say(TEXT, "at_checkpoint", size=exc.checkpoint) if exc.checkpoint is not None
                         else o.say(TEXT, "at_log"))  # fmt: skip
                what = o.say(WHAT, exc.code) if exc.code in WHAT else o.pick("校验失败", "verification failed")
                typer.echo(o.say(TEXT, "not_intact", where=where, what=what, reason=error_text(exc, o.lang)), err=True)
            raise typer.Exit(1) from None
        checked = check_projections(o, s) if projections else None  # the log is intact: the tables too?
        if as_json:
            echo_json({**intact.as_json(), "projections": checked.as_json()} if checked else intact.as_json())
            if checked and not checked.ok:
                raise typer.Exit(1)
            return
        tail = o.say(TEXT, "tail", n=intact.uncovered) if intact.uncovered else ""
        line = o.say(TEXT, "intact", size=intact.size, checkpoints=intact.checkpoints,
                     latest=intact.latest_checkpoint if intact.latest_checkpoint is not None else "—",
                     tail=tail, elapsed=intact.elapsed)  # fmt: skip
        anchored = intact.trust["anchor_written"] or intact.trusted_size is not None
        anchor = max(intact.latest_checkpoint or 0, intact.trusted_size or 0) if anchored else 0
        cosigners = o.say(TEXT, "cosigners", names=", ".join(intact.cosigners)) if intact.cosigners else ""
        witnessed = o.say(TEXT, "witnessed", names=", ".join(intact.witnesses)) if intact.witnesses else ""
        typer.echo(line + cosigners + witnessed + (o.say(TEXT, "anchor", size=anchor) if anchor else ""))
        notice = _trust_notice(o, intact)
        if notice:  # on stdout: stderr keeps its one line for errors; --json has the same as fields
            typer.echo(notice)
        if checked:
            say_projections(o, checked)  # one line; on a difference, on stderr with exit 1


def _trust_notice(o: Options, intact: Intact) -> str | None:
    """Where this verification's trust came from: TOFU is said out loud, never implied."""
    trust, trusted_before = intact.trust, intact.trusted_size
    if trust["anchor_written"] and trusted_before is None:  # a new anchor: only with --trust-first-use
        return o.say(TEXT, "tofu_recorded" if trust["tofu"] else "anchor_recorded", size=intact.latest_checkpoint,
                     path=trust["anchor"])  # fmt: skip
    if trust["tofu"]:
        return o.say(TEXT, "tofu", path=trust["anchor"])
    if trusted_before is None:
        return o.say(TEXT, "no_anchor", path=trust["anchor"])
    return None


# --- checkpoint -------------------------------------------------------------------------------------------
def checkpoint(
    ctx: typer.Context,
    cosign: Annotated[str | None, typer.Option("--cosign", metavar="ACTOR",
                      help="cosign the latest checkpoint as this finance_bureau or inspector actor")] = None,  # fmt: skip
    operator_key: OperatorKey = None,
) -> None:
    """Sign a checkpoint of the whole log now (or, with --cosign ACTOR, witness the latest one)."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.encoding.b64 import b64encode
    from ledger.translog.cosign import cosign_latest
    from ledger.translog.note import Checkpoint, parse_note
    from ledger.translog.verify import load_operator_verifiers

    o = options(ctx)
    if o.server is not None:  # a witness of the server's log (API.md "Client")
        if cosign is None:
            fail(o, o.pick("--server 只支持 --cosign ACTOR（检查点由服务器签署）", "--server works with --cosign ACTOR only (the server signs checkpoints)"), 2)
        from api.cli import remote

        return remote.cosign(o, cosign, operator_key, TEXT)
    with session(o) as s:
        if cosign is None:
            note = s.checkpoint()
            assert note is not None
            body = Checkpoint.parse(parse_note(note).text)
            typer.echo(o.say(TEXT, "signed", origin=body.origin, size=body.size, root=b64encode(body.root_hash)))
            typer.echo(note, nl=False)
            return
        result = cosign_latest(s.ledger, s.keys, cosign, load_operator_verifiers(s.keys, operator_key))
        if result.already:
            typer.echo(o.say(TEXT, "already", actor=cosign, size=result.size))
        elif result.previous_size is None:
            typer.echo(o.say(TEXT, "cosigned_first", actor=cosign, size=result.size))
        else:
            typer.echo(o.say(TEXT, "cosigned", actor=cosign, size=result.size, previous=result.previous_size))
        typer.echo(result.note, nl=False)


def checkpoint_show(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    operator_key: OperatorKey = None,
) -> None:
    """The latest checkpoint, its operator signature checked, with its cosignatures (联署)."""
    from ledger.translog.cosign import latest_checkpoint_info
    from ledger.translog.verify import load_operator_verifiers

    o = options(ctx)
    with session(o) as s:
        info = latest_checkpoint_info(s.ledger, load_operator_verifiers(s.keys, operator_key))
        if as_json:
            echo_json(info)
            return
        if info is None:
            typer.echo(o.say(TEXT, "no_checkpoint"))
            return
        typer.echo(o.say(TEXT, "show", origin=info["origin"] or "?", size=info["size"], root=info["root_hash"],
                       signed_at=info["signed_at"]))  # fmt: skip
        typer.echo(o.say(TEXT, "operator_ok" if info["operator_signature_valid"] else "operator_bad"))
        for c in info["cosignatures"]:
            typer.echo(o.say(TEXT, "cosig", name=c["name"], time=c["time"], state=o.say(TEXT, "valid" if c["verified"] else "invalid")))
        if not info["cosignatures"]:
            typer.echo(o.say(TEXT, "no_cosig"))
        typer.echo("")
        typer.echo(info["note"], nl=False)
        if not info["operator_signature_valid"]:
            raise typer.Exit(1)


def checkpoint_rotate_operator(ctx: typer.Context) -> None:
    """运营方密钥更换: sign one checkpoint with the old and a new operator key, then sign with the new one."""
    from ledger.translog.cosign import rotate_operator

    o = options(ctx)
    with session(o) as s:
        changed = rotate_operator(s.ledger, s.keys)
        typer.echo(o.say(TEXT, "rotated", size=changed.size, new=changed.new, old=changed.old))
        typer.echo(changed.note, nl=False)


def checkpoint_witness_key(ctx: typer.Context, actor: Annotated[str, typer.Argument(metavar="ACTOR", help="a finance_bureau or inspector")]) -> None:
    """The cosigner's current key as a C2SP verifier key, for `verify --witness`."""
    from ledger.translog.cosign import witness_key

    o = options(ctx)
    with session(o) as s:
        typer.echo(witness_key(s.ledger, actor))


# --- proofs ---------------------------------------------------------------------------------------------------
def proof_inclusion(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="the leaf's seq")],
    size: Annotated[int | None, typer.Option(help="tree size (default: the latest checkpoint's)")] = None,
) -> None:
    """包含证明: {"leaf_index", "tree_size", "leaf_hash", "inclusion_path"} of leaf SEQ."""
    from ledger.translog.merkle import InclusionProofInvalid
    from ledger.translog.proofs import checkpoint_root, inclusion_proof

    o = options(ctx)
    with session(o) as s:
        proof = inclusion_proof(s.ledger, seq, size)
        try:  # never hand out a proof that does not reach the signed root
            proof.verify(checkpoint_root(s.ledger, proof.tree_size))
        except InclusionProofInvalid as exc:
            fail(o, f"seq {seq}: {exc} (run verify)", 1)
        echo_json(proof.as_json())


def proof_consistency(
    ctx: typer.Context,
    old: Annotated[int, typer.Argument(help="the older tree size")],
    new: Annotated[int, typer.Argument(help="the newer tree size")],
) -> None:
    """一致性证明: {"first_size", "second_size", "consistency_path"} from tree OLD to tree NEW."""
    from ledger.translog.merkle import ConsistencyProofInvalid
    from ledger.translog.proofs import checkpoint_root, consistency_proof

    o = options(ctx)
    with session(o) as s:
        proof = consistency_proof(s.ledger, old, new)
        try:
            proof.verify(checkpoint_root(s.ledger, old), checkpoint_root(s.ledger, new))
        except ConsistencyProofInvalid as exc:
            fail(o, f"{old} → {new}: {exc} (run verify)", 1)
        echo_json(proof.as_json())


# --- exports -----------------------------------------------------------------------------------------------------
def export_log_cmd(ctx: typer.Context, directory: Annotated[str, typer.Argument(metavar="DIR", help="an empty or new folder")]) -> None:
    """Sign a checkpoint over every leaf, then write the whole log under it to DIR."""
    from ledger.translog.export import export_log

    o = options(ctx)
    with session(o) as s:
        out = _export(o, s, lambda advance: export_log(s, directory, progress=advance))
        typer.echo(o.say(TEXT, "exported_log", leaves=out.leaves, size=out.size, dir=out.directory))


def export_evidence_cmd(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="KIND", help="payment | claim | class | laborer | certificate | fund | actor")],
    ident: Annotated[str, typer.Argument(metavar="ID", help="the subject's id")],
    directory: Annotated[str, typer.Argument(metavar="DIR", help="an empty or new folder")],
) -> None:
    """证据包: exactly the leaves `trace KIND ID` shows, their signers' registry leaves and inclusion proofs."""
    from projections.trace.gather import KINDS

    o = options(ctx)
    if kind not in KINDS:
        fail(o, f"KIND must be one of {', '.join(KINDS)}", 2)
    if o.server is not None:  # GET /v1/evidence/{kind}/{id} (API.md "Client")
        from api.cli import remote

        leaves, size, folder = remote.export_evidence(o, kind, ident, directory)
        typer.echo(o.say(TEXT, "exported_evidence", kind=kind, id=ident, leaves=leaves, size=size, dir=folder))
        return
    from api import services

    with session(o) as s, consistent(o):
        out = _export(o, s, lambda advance: services.export_evidence(s, kind, ident, directory, advance, o.meter()))
        typer.echo(o.say(TEXT, "exported_evidence", kind=kind, id=ident, leaves=out.leaves, size=out.size, dir=out.directory))


def _export(o: Options, s: Session, write: Callable[[Progress], Exported]) -> Exported:
    """Run an export with a progress bar; say on stderr when no operator key here could sign a
    checkpoint for it (it then stands under the latest stored one)."""
    from api.progress import progress_bar

    with progress_bar(o.say(TEXT, "exporting"), s.ledger.size()) as advance:
        out = write(advance)
    if not out.signed:
        typer.echo(o.say(TEXT, "unsigned", size=out.size), err=True)
    return out
