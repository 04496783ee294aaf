"""导出 / 证据包: exports that anyone can check with openssl and sha256sum (DESIGN §6 "Exports").

A folder holds:

* ``entries.jsonl`` — the exact bytes of each exported leaf, one per LF-terminated line, in
  ``seq`` order: the whole log under the checkpoint (``export log``) or a subset (evidence);
* ``checkpoint`` — the operator-signed C2SP checkpoint note (with any cosignatures);
* ``operator.pub`` — the operator's C2SP verifier key, copied from the keystore;
* ``proofs.json`` — partial exports only: ``{"size": N, "inclusion": {"<seq>": [base64…]}}``,
  N the checkpoint's size, one line per leaf so a shell can pick a proof out with ``grep``;
* ``VERIFY.md`` — how to check it all by hand (Chinese, then English).

Before anything is written, the export checks itself: the checkpoint verifies with the
keystore's operator key, the exported log hashes to the checkpoint's root, and every inclusion
proof leads from its leaf to that root. An export of a ledger that is not intact fails with
:class:`~ledger.errors.VerificationFailed` instead of shipping unverifiable evidence.

An evidence bundle (证据包) for a payment, claim, class or labourer holds the leaves a trace of
that subject needs (see :class:`_Trace`) plus every registry leaf (``ActorRegistered``,
``KeyRotated``, ``KeyRevoked``) of each actor that signed one of them, recursively back to
leaf 0, so each signature can be checked against the key registered for it. Subjects are
found through the domain events' aggregate index (one indexed read per subject) and one
streaming pass over the log for events that refer to them from elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.domain.aggregates import AGGREGATES, subject_uuid
from ledger.encoding.b64 import b64encode
from ledger.errors import OperationalError, Refused, VerificationFailed
from ledger.translog import merkle
from ledger.translog.note import Checkpoint
from ledger.translog.proofs import inclusion_proof
from ledger.translog.verify import load_operator_verifiers, verify_checkpoint_note

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.service import Session

__all__ = ["KINDS", "Exported", "SubjectNotFound", "evidence_seqs", "export_evidence", "export_log", "verify_md"]

KINDS = ("payment", "claim", "class", "laborer")
ENTRIES, CHECKPOINT, OPERATOR, PROOFS, VERIFY = "entries.jsonl", "checkpoint", "operator.pub", "proofs.json", "VERIFY.md"

_TYPES = {agg.KIND: frozenset(agg.EVENTS) for agg in AGGREGATES}
LABORER_TRACE = frozenset({"LaborerRegistered", "LaborerCorrected", "IdentityConfirmed", "IdentityRejected",
                           "PersonalDataErased"})  # fmt: skip
REGISTRY = frozenset({"ActorRegistered", "KeyRotated", "KeyRevoked"})


class SubjectNotFound(Refused):
    """No payment, claim, class or labourer with that id under the exported checkpoint."""

    code = "subject_not_found"


@dataclass(frozen=True)
class Exported:
    directory: Path
    kind: str  # "log" or one of KINDS
    subject: str | None
    size: int  # the checkpoint's tree size
    root: bytes
    leaves: int  # how many leaves entries.jsonl holds
    signed: bool  # a fresh checkpoint was signed for this export
    example_seq: int | None = None


# --- the checkpoint an export stands on ---------------------------------------------------------------
def _checkpoint(session: Session) -> tuple[str, Checkpoint, bool]:
    """Sign a checkpoint over every leaf (operator keystore), else take the latest stored one."""
    signed = (session.keys.root / "operator.pem").exists()
    note = session.checkpoint() if signed else None
    if note is None:
        latest = session.ledger.latest_checkpoint()
        if latest is None:
            raise OperationalError("no checkpoint to export under, and no operator key here to sign one")
        note = latest.note
    checkpoint = verify_checkpoint_note(note, load_operator_verifiers(session.keys))
    return note, checkpoint, signed


def _usable(directory: str | Path) -> Path:
    path = Path(directory)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OperationalError(f"{path} exists and is not an empty folder")
    return path


def _prepare(directory: str | Path) -> Path:
    path = _usable(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperationalError(f"cannot create {path}: {exc.strerror}") from None
    return path


def _operator_pub(session: Session) -> str:
    return (session.keys.root / "operator.pub").read_text(encoding="utf-8").strip() + "\n"


# --- export log --------------------------------------------------------------------------------------
def export_log(session: Session, directory: str | Path, progress: Callable[[int], None] | None = None) -> Exported:
    """The whole log under a checkpoint signed now; fails if the leaves do not hash to its root."""
    _usable(directory)
    note, checkpoint, signed = _checkpoint(session)
    path = _prepare(directory)
    frontier = merkle.CompactRange()
    expected = 0
    with open(path / ENTRIES, "wb") as out:
        for seq, _, leaf in session.ledger.leaves(0, checkpoint.size):
            if seq != expected:
                raise VerificationFailed(f"seq {expected} is missing from the log (run verify)", seq=expected)
            out.write(leaf + b"\n")
            frontier.append(merkle.leaf_hash(leaf))
            expected += 1
            if progress is not None and expected % 1000 == 0:
                progress(1000)
    if progress is not None:
        progress(expected % 1000)
    if expected != checkpoint.size or frontier.root() != checkpoint.root_hash:
        raise VerificationFailed(
            f"the log does not hash to checkpoint {checkpoint.size}'s root (run verify)", checkpoint=checkpoint.size
        )
    _write_common(path, session, note, checkpoint, partial=False, example=(0, 1) if checkpoint.size else None)
    return Exported(path, "log", None, checkpoint.size, checkpoint.root_hash, expected, signed,
                    0 if checkpoint.size else None)  # fmt: skip


# --- export evidence ------------------------------------------------------------------------------------
def export_evidence(
    session: Session, kind: str, ident: str, directory: str | Path,
    progress: Callable[[int], None] | None = None,
) -> Exported:  # fmt: skip
    """The leaves a trace of ``kind`` ``ident`` needs, with their inclusion proofs."""
    if kind not in KINDS:
        raise OperationalError(f"KIND must be one of {', '.join(KINDS)}")
    ledger = session.ledger
    _usable(directory)
    note, checkpoint, signed = _checkpoint(session)
    seqs = evidence_seqs(ledger, kind, ident, checkpoint.size, progress)
    path = _prepare(directory)
    lines: list[str] = []
    with open(path / ENTRIES, "wb") as out:
        for seq, leaf in _leaves_by_seq(ledger, seqs):
            proof = inclusion_proof(ledger, seq, checkpoint.size)
            try:
                proof.verify(checkpoint.root_hash, leaf)
            except merkle.InclusionProofInvalid as exc:
                raise VerificationFailed(f"leaf {seq} is not in checkpoint {checkpoint.size}: {exc} (run verify)",
                                         seq=seq) from None  # fmt: skip
            out.write(leaf + b"\n")
            lines.append(f'"{seq}":' + json.dumps([b64encode(p) for p in proof.path], separators=(",", ":")))
    (path / PROOFS).write_text(
        '{"size":' + str(checkpoint.size) + ',"inclusion":{\n' + ",\n".join(lines) + "\n}}\n", encoding="utf-8"
    )
    example = _example(ledger, seqs)
    _write_common(path, session, note, checkpoint, partial=True, example=example)
    return Exported(path, kind, ident, checkpoint.size, checkpoint.root_hash, len(seqs), signed,
                    None if example is None else example[0])  # fmt: skip


def _leaves_by_seq(ledger: Ledger, seqs: list[int]) -> Iterator[tuple[int, bytes]]:
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        rows = ledger.sql.all(
            f"SELECT seq, leaf FROM ledger_leaves WHERE seq IN ({','.join('?' * len(chunk))}) ORDER BY seq", chunk
        )
        if len(rows) != len(chunk):
            missing = sorted(set(chunk) - {int(r[0]) for r in rows})[0]
            raise VerificationFailed(f"leaf {missing} is missing from the log (run verify)", seq=missing)
        for seq, leaf in rows:
            yield int(seq), bytes(leaf)


def _example(ledger: Ledger, seqs: list[int]) -> tuple[int, int] | None:
    """(seq, line in entries.jsonl) of the first exported leaf that is not a registry leaf."""
    for line, seq in enumerate(seqs, start=1):
        leaf = ledger.leaf(seq) or b""
        if not any(f'"type":"{t}"'.encode() in leaf for t in REGISTRY):
            return seq, line
    return (seqs[0], 1) if seqs else None


def _write_common(path: Path, session: Session, note: str, checkpoint: Checkpoint, *, partial: bool,
                  example: tuple[int, int] | None) -> None:  # fmt: skip
    (path / CHECKPOINT).write_text(note, encoding="utf-8")
    operator = _operator_pub(session)
    (path / OPERATOR).write_text(operator, encoding="utf-8")
    (path / VERIFY).write_text(
        verify_md(checkpoint, operator.strip(), partial=partial, example=example), encoding="utf-8"
    )


# --- which leaves a trace needs ------------------------------------------------------------------------------
@dataclass
class _Trace:
    """The subjects a trace follows, and the leaves found so far.

    payment → its claim(s); a claim → its class, its lines' labourers, certificates and
    employments, its payments (and their funds and returns), recoveries and inspections;
    class → its events, enrolled labourers, certificates, claims for it (and their payments);
    labourer → every event naming the labourer anywhere in the body.
    """

    ledger: Ledger
    size: int
    seqs: dict[int, str] = field(default_factory=dict)  # seq -> signing actor
    claims: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    laborers: set[str] = field(default_factory=set)
    certificates: set[str] = field(default_factory=set)
    employments: set[str] = field(default_factory=set)
    funds: set[str] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)

    def include(self, seq: int, env: dict[str, Any]) -> None:
        if seq < self.size:
            self.seqs[seq] = env["actor"]

    def aggregate(self, kind: str, ident: str, types: frozenset[str] | None = None) -> list[dict[str, Any]]:
        """One subject's events, through the domain events' index (no scan)."""
        out = []
        for event in self.ledger.repository.event_store.get(subject_uuid(kind, ident)):
            env: dict[str, Any] = event.envelope  # type: ignore[attr-defined]
            seq: int = event.seq  # type: ignore[attr-defined]
            if seq < self.size and (types is None or env["type"] in types):
                self.include(seq, env)
                out.append(env)
        return out

    def claim_subjects(self, env: dict[str, Any]) -> None:
        body = env["body"]
        if env["type"] == "SubsidyClaimed":
            if body.get("class_id"):
                self.classes.add(body["class_id"])
            for line in body["lines"]:
                self.laborers.add(line["laborer_id"])
                if line.get("certificate_no"):
                    self.certificates.add(line["certificate_no"])
                if line.get("employment_id"):
                    self.employments.add(line["employment_id"])
        elif env["type"] == "ClaimApproved":
            self.laborers.update(line["laborer_id"] for line in body["lines"])
        elif env["type"] == "ClaimIdentityVerified":
            self.laborers.update(body["rejected_laborers"])

    def class_subjects(self, env: dict[str, Any]) -> None:
        body = env["body"]
        if "laborer_id" in body:
            self.laborers.add(body["laborer_id"])
        for trainee in body.get("trainees", []):
            self.laborers.add(trainee["laborer_id"])
        self.laborers.update(body.get("completers", []))

    def money(self, seq: int, env: dict[str, Any]) -> None:
        """Events elsewhere in the log that refer to the traced claims (payments come after claims)."""
        t, body = env["type"], env["body"]
        if t in ("PaymentDisbursed", "FundsRecovered"):
            hit = body["claim_id"] in self.claims
            if hit and t == "PaymentDisbursed":
                self.payments.add(body["payment_id"])
                self.funds.add(body["fund_id"])
        elif t == "PaymentReturned":
            hit = body["payment_id"] in self.payments
        elif t in _TYPES["claim"]:
            hit = body["claim_id"] in self.claims
        elif t == "InspectionRecorded":
            hit = (
                (body["subject_kind"] == "claim" and body["subject_id"] in self.claims)
                or (body["subject_kind"] == "class" and body["subject_id"] in self.classes)
                or body.get("class_id") in self.classes
            )
        else:
            hit = False
        if hit:
            self.include(seq, env)

    def finish(self, kinds: Iterable[str] = ("class", "laborer", "certificate", "employment", "fund", "payment")) -> None:
        """Subjects' own events through the index (some precede the events that named them)."""
        for kind in kinds:
            ids = {"class": self.classes, "laborer": self.laborers, "certificate": self.certificates,
                   "employment": self.employments, "fund": self.funds, "payment": self.payments}[kind]  # fmt: skip
            for ident in sorted(ids):
                self.aggregate(kind, ident, LABORER_TRACE if kind == "laborer" else None)

    def registry(self) -> None:
        """Every registry leaf of each signer, recursively (their signers too), back to leaf 0."""
        done: set[str] = set()
        todo = set(self.seqs.values())
        while todo:
            actor = todo.pop()
            done.add(actor)
            for env in self.aggregate("actor", actor):
                if env["actor"] not in done:
                    todo.add(env["actor"])
        if self.size > 0 and 0 not in self.seqs:
            leaf = self.ledger.leaf(0)
            if leaf is not None:
                self.include(0, json.loads(leaf)["envelope"])


def _scan(ledger: Ledger, size: int, types: frozenset[str] | None = None,
          needle: bytes | None = None) -> Iterator[tuple[int, dict[str, Any]]]:  # fmt: skip
    """Stream ``(seq, envelope)`` of leaves < size, optionally only some types or containing ``needle``."""
    where = ""
    params: list[Any] = []
    if types:
        where = f" AND type IN ({','.join('?' * len(types))})"
        params = sorted(types)
    seq = 0
    while seq < size:
        rows = ledger.sql.all(
            f"SELECT seq, leaf FROM ledger_leaves WHERE seq >= ? AND seq < ?{where} ORDER BY seq LIMIT 2000",
            [seq, size, *params],
        )
        if not rows:
            return
        for row_seq, leaf in rows:
            if needle is None or needle in bytes(leaf):
                yield int(row_seq), json.loads(bytes(leaf))["envelope"]
        seq = int(rows[-1][0]) + 1


def _names(value: Any, ident: str) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if item == ident:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


_MONEY_TYPES = frozenset({"PaymentDisbursed", "FundsRecovered", "PaymentReturned", "InspectionRecorded"}) | _TYPES["claim"]
_CLASS_REFERRERS = frozenset({"CertificateIssued", "CertificateRevoked", "SubsidyClaimed", "EmploymentStarted",
                              "InspectionRecorded"})  # fmt: skip


def evidence_seqs(ledger: Ledger, kind: str, ident: str, size: int,
                  progress: Callable[[int], None] | None = None) -> list[int]:  # fmt: skip
    """The sorted seqs (all < ``size``) of an evidence bundle for ``kind`` ``ident``."""
    trace = _Trace(ledger, size)
    if kind in ("payment", "claim"):
        own = trace.aggregate(kind, ident)
        if not own:
            raise SubjectNotFound(f"no {kind} {ident!r} under checkpoint {size}")
        if kind == "payment":
            for env in own:
                if env["type"] == "PaymentDisbursed":
                    trace.claims.add(env["body"]["claim_id"])
                    trace.funds.add(env["body"]["fund_id"])
            trace.payments.add(ident)
        else:
            trace.claims.add(ident)
        for claim in sorted(trace.claims):
            for env in trace.aggregate("claim", claim):
                trace.claim_subjects(env)
        for seq, env in _scan(ledger, size, _MONEY_TYPES):
            trace.money(seq, env)
        trace.finish()
    elif kind == "class":
        own = trace.aggregate("class", ident)
        if not own:
            raise SubjectNotFound(f"no class {ident!r} under checkpoint {size}")
        trace.classes.add(ident)
        for env in own:
            trace.class_subjects(env)
        for seq, env in _scan(ledger, size, _CLASS_REFERRERS | _MONEY_TYPES):
            body = env["body"]
            if env["type"] in _CLASS_REFERRERS and body.get("class_id") == ident:
                trace.include(seq, env)
                if env["type"] == "CertificateIssued":
                    trace.certificates.add(body["certificate_no"])
                elif env["type"] == "SubsidyClaimed":
                    trace.claims.add(body["claim_id"])
                    trace.claim_subjects({**env, "body": {k: v for k, v in body.items() if k != "class_id"}})
            elif env["type"] == "CertificateRevoked" and body["certificate_no"] in trace.certificates:
                trace.include(seq, env)
            else:
                trace.money(seq, env)
        trace.finish(("laborer", "certificate", "payment"))
    elif kind == "laborer":
        if not trace.aggregate("laborer", ident):
            raise SubjectNotFound(f"no labourer {ident!r} under checkpoint {size}")
        needle = json.dumps(ident, ensure_ascii=False).encode()
        for seq, env in _scan(ledger, size, None, needle):
            if _names(env["body"], ident):
                trace.include(seq, env)
    else:
        raise OperationalError(f"KIND must be one of {', '.join(KINDS)}")
    trace.registry()
    if progress is not None:
        progress(size)
    return sorted(trace.seqs)


# --- VERIFY.md ---------------------------------------------------------------------------------------------------
def verify_md(checkpoint: Checkpoint, operator_pub: str, *, partial: bool, example: tuple[int, int] | None) -> str:
    """How to check this export by hand with openssl, sha256sum and coreutils (Chinese, then English)."""
    seq, line = example if example is not None else (0, 1)
    root_hex = checkpoint.root_hash.hex()
    what_zh = "证据包（日志的一部分）" if partial else "完整日志"
    what_en = "an evidence bundle (part of the log)" if partial else "the whole log"
    files_zh = (
        "- `proofs.json` —— 每条记录在该检查点下的包含证明（RFC 9162），每条一行：`\"<seq>\":[base64,…]`\n"
        if partial else ""
    )  # fmt: skip
    files_en = (
        "- `proofs.json` — each leaf's RFC 9162 inclusion proof under that checkpoint, one line each: `\"<seq>\":[base64,…]`\n"
        if partial else ""
    )  # fmt: skip
    tree_zh = (
        f"### 4. 包含证明（inclusion proof）\n\n"
        f"证明 seq {seq} 的叶子在大小为 {checkpoint.size} 的树中（RFC 9162 §2.1.3.2）：从叶子哈希出发，"
        "按路径逐个与兄弟节点合并，左右由 `fn`、`sn` 决定，最后必须得到检查点中的根哈希。"
        "内部节点哈希 = SHA-256(0x01 ‖ 左 ‖ 右)。见下方英文部分第 4 步的脚本（命令相同）。\n"
        if partial else
        "### 4. 重算根哈希（Merkle 树）\n\n"
        "按 RFC 9162 由全部叶子哈希逐层两两合并：每层从左到右两两配对，"
        "内部节点哈希 = SHA-256(0x01 ‖ 左 ‖ 右)；某层最后剩下单个节点时原样上移。"
        "最后一个哈希必须等于检查点第 3 行的根哈希。见下方英文部分第 4 步的脚本（命令相同）。\n"
    )  # fmt: skip
    tree_en = _TREE_PARTIAL if partial else _TREE_FULL
    return _VERIFY_TEMPLATE.format(
        what_zh=what_zh, what_en=what_en, files_zh=files_zh, files_en=files_en, tree_zh=tree_zh,
        tree_en=tree_en.format(seq=seq, line=line, size=checkpoint.size, root_hex=root_hex),
        origin=checkpoint.origin, size=checkpoint.size, root=b64encode(checkpoint.root_hash), root_hex=root_hex,
        operator_pub=operator_pub, seq=seq, line=line,
    )  # fmt: skip


_VERIFY_TEMPLATE = """\
# 如何手工核验本导出 / How to verify this export by hand

本文件夹是账本 `{origin}` 的{what_zh}，由运营方在大小为 {size} 的检查点（检查点 checkpoint）下导出。
This folder is {what_en} of ledger `{origin}`, exported under the operator's checkpoint of size {size}.

> **警告：** `operator.pub` 只是随导出附带的副本，它只能为它自己作证。核验之前，请把它与运营方
> 公开发布的公钥（官方网站、公告或加盖公章的文件）逐字比对；不一致时，本导出中的任何内容都不可信。
>
> **Warning:** `operator.pub` is only the exporter's copy and vouches for nothing but itself.
> Before anything else, compare it character by character with the key the operator published
> (official website, notice, sealed letter). If they differ, nothing in this export can be trusted.
>
>     {operator_pub}

## 中文

文件：

- `entries.jsonl` —— 每行是一条日志记录（叶子）的原始字节，按 seq 排序，以 LF 结尾（LF 不属于叶子）
- `checkpoint` —— 运营方签署的检查点（C2SP signed note）：第 1 行来源 `{origin}`，第 2 行树大小 {size}，
  第 3 行根哈希（base64）`{root}`，空行之后是签名行（可能还有财政局、纪检监察的联署行）
- `operator.pub` —— 运营方公钥（C2SP verifier key：`名称+密钥ID+base64(0x01‖32 字节公钥)`）
{files_zh}
只需要 `openssl`（3.0 及以上）、`sha256sum`、`base64`、`xxd`、`sed`、`grep`、`head`/`tail`（bash，`LC_ALL=C`）。
命令见下方英文部分，每一步的含义如下：

### 1. 叶子哈希

叶子哈希 = SHA-256(0x00 ‖ 叶子字节)（RFC 9162 §2.1.1）。取 `entries.jsonl` 的一行，去掉行尾 LF，在前面加一个 0x00 字节后计算 SHA-256。
例如 seq {seq} 是第 {line} 行。

### 2. 检查点签名

签名覆盖检查点的前三行（含各自的换行符）。公钥是 `operator.pub` 第三段 base64 解码后去掉第一个字节（0x01）的 32 字节；
签名行 `— {origin} <base64>` 解码后前 4 字节是密钥 ID（= SHA-256(名称 ‖ 0x0A ‖ 0x01 ‖ 公钥) 的前 4 字节），后 64 字节是 Ed25519 签名。
把 32 字节公钥前面加上固定的 12 字节头 `302a300506032b6570032100` 就是 DER 格式公钥，用 `openssl pkeyutl -verify -rawin` 验证。

### 3. 事件签名

每条记录中的 `envelope` 由签署它的单位用 Ed25519 签名，签名内容是去掉 `sig` 字段后的 RFC 8785（JCS）规范 JSON。
由于叶子本身就是 JCS 字节，去掉外层 `{{"envelope":` 与末尾的 `,"recorded_at":…,"seq":…}}`，再删除 `"sig":"…",` 即得被签名的字节。
`key_id` = `ed25519:` + SHA-256(32 字节公钥) 的前 32 个十六进制字符；对应公钥在登记该密钥的 `ActorRegistered` 或 `KeyRotated` 记录中
（本导出包含签名单位的全部登记、轮换、吊销记录，一直追溯到 seq 0 的创世记录）。该记录的 seq 必须小于被验证记录的 seq，
且在被验证记录之前没有轮换（`KeyRotated`）或吊销（`KeyRevoked`）该密钥。

{tree_zh}
全部通过，说明这些记录正是运营方签署的检查点所覆盖的内容，一个字节都没有改动。

## English

Files:

- `entries.jsonl` — each line is one log entry (leaf), its exact bytes, in seq order, LF-terminated (the LF is not part of the leaf)
- `checkpoint` — the operator's signed checkpoint (C2SP signed note): line 1 origin `{origin}`, line 2 tree size {size},
  line 3 root hash (base64) `{root}`; after the blank line, signature lines (possibly cosignatures by a finance bureau or inspector)
- `operator.pub` — the operator's key (C2SP verifier key: `name+keyid+base64(0x01 ‖ 32-byte key)`)
{files_en}
You need only `openssl` (3.0 or later), `sha256sum`, `base64`, `xxd`, `sed`, `grep`, `head`/`tail` (bash, `LC_ALL=C`):

```sh
export LC_ALL=C
```

### 1. A leaf hash

Leaf hash = SHA-256(0x00 ‖ leaf bytes) (RFC 9162 §2.1.1). Line {line} of `entries.jsonl` is seq {seq}:

```sh
LINE={line}
sed -n "${{LINE}}p" entries.jsonl | head -c -1 > leaf.bin        # the leaf, without its LF
(printf '\\000'; cat leaf.bin) | sha256sum | cut -c1-64           # its leaf hash, hex
```

### 2. The checkpoint signature

The operator signs the first three lines of `checkpoint` (each with its newline):

```sh
ORIGIN=$(head -n 1 checkpoint)
head -n 3 checkpoint > body.txt
cut -d+ -f3- operator.pub | base64 -d | tail -c 32 > operator.raw          # drop the 0x01 type byte
(printf '%s\\n\\001' "$ORIGIN"; cat operator.raw) | sha256sum | cut -c1-8    # key id: must equal field 2 of operator.pub
grep "^— $ORIGIN " checkpoint | head -n 1 | cut -d' ' -f3 | base64 -d > sigline.bin
head -c 4 sigline.bin | xxd -p                                             # the same key id again
tail -c 64 sigline.bin > checkpoint.sig
(printf '302a300506032b6570032100' | xxd -r -p; cat operator.raw) > operator.der   # DER SubjectPublicKeyInfo
openssl pkeyutl -verify -pubin -inkey operator.der -keyform DER -rawin -in body.txt -sigfile checkpoint.sig
sed -n 3p checkpoint | base64 -d | xxd -p -c 32                            # the root, hex: {root_hex}
```

`openssl` must print `Signature Verified Successfully`.

### 3. An envelope signature

Each `envelope` is signed with Ed25519 by the organisation that acted, over the RFC 8785 (JCS)
canonical JSON of the envelope without `sig`. The leaf is itself JCS, so strip the leaf's
wrapper and the `sig` member to get exactly the signed bytes:

```sh
sed -e 's/^{{"envelope"://' -e 's/,"recorded_at":"[^"]*","seq":[0-9]*}}$//' \\
    -e 's/"sig":"[A-Za-z0-9+\\/=]*",//' leaf.bin | tr -d '\\n' > signed.bin
grep -o '"sig":"[^"]*"' leaf.bin | cut -d'"' -f4 | base64 -d > envelope.sig
KID=$(grep -o '"key_id":"ed25519:[0-9a-f]*"' leaf.bin | tail -n 1 | cut -d'"' -f4 | cut -d: -f2)
# key_id = "ed25519:" + first 32 hex chars of SHA-256(raw 32-byte key). Find the registered key:
for pk in $(grep -o '"public_key":"[A-Za-z0-9+/=]*"' entries.jsonl | cut -d'"' -f4 | sort -u); do
  [ "$(printf '%s' "$pk" | base64 -d | sha256sum | cut -c1-32)" = "$KID" ] && printf '%s' "$pk" | base64 -d > signer.raw
done
(printf '302a300506032b6570032100' | xxd -r -p; cat signer.raw) > signer.der
openssl pkeyutl -verify -pubin -inkey signer.der -keyform DER -rawin -in signed.bin -sigfile envelope.sig
```

The key must have been registered (`ActorRegistered` or `KeyRotated` naming it: `grep -n` for the
`public_key` shows its line) at a smaller seq than the envelope's, and not rotated (`KeyRotated` of
that actor) or revoked (`KeyRevoked` naming that `key_id`) before it. This export holds every
registration, rotation and revocation of each signing organisation, back to the genesis leaf seq 0.

{tree_en}
If every step passes, these entries are exactly what the operator's checkpoint covers, byte for byte.
"""

_TREE_FULL = """\
### 4. The root of the whole log

RFC 9162 §2.1.1 defines the root over all leaf hashes. Equivalently, level by level: pair the
hashes left to right, an interior node being SHA-256(0x01 ‖ left ‖ right); a single node left
over at the end of a level moves up unchanged. The last hash standing must be the checkpoint's root.

```sh
mkdir -p h && rm -f h/*
sed 's/^/\\x00/' entries.jsonl | split -l 1 -a 9 -d - h/     # one file per leaf: 0x00 ‖ leaf ‖ LF
find h -type f | xargs truncate -s -1                        # drop each LF
find h -type f | sort | xargs sha256sum | cut -c1-64 > level.txt
while [ "$(wc -l < level.txt)" -gt 1 ]; do
  n=$(wc -l < level.txt); rm -f h/*
  head -n $((n / 2 * 2)) level.txt | paste -d '\\0' - - | sed 's/^/01/' | xxd -r -p | split -b 65 -a 9 -d - h/
  {{ find h -type f | sort | xargs sha256sum | cut -c1-64; if [ $((n % 2)) -eq 1 ]; then tail -n 1 level.txt; fi; }} > next.txt
  mv next.txt level.txt
done
cat level.txt     # must equal {root_hex}
```

The log has {size} leaves: `wc -l entries.jsonl` must say so, and line k is seq k−1.
"""

_TREE_PARTIAL = """\
### 4. An inclusion proof

`proofs.json` holds, for each exported seq, the RFC 9162 §2.1.3 inclusion path in the tree of
{size} leaves. Walk it from the leaf hash (step 1) up to the root (RFC 9162 §2.1.3.2):

```sh
SEQ={seq}; N=$(sed -n 2p checkpoint)
h=$( (printf '\\000'; cat leaf.bin) | sha256sum | cut -c1-64)    # leaf.bin of seq {seq} (line {line}), from step 1
fn=$SEQ; sn=$((N - 1))
for p in $(grep "^\\"$SEQ\\":" proofs.json | grep -o '"[A-Za-z0-9+/]\\{{43\\}}="' | tr -d '"'); do
  p=$(printf '%s' "$p" | base64 -d | xxd -p -c 32)
  if [ $((fn % 2)) -eq 1 ] || [ $fn -eq $sn ]; then
    h=$(printf '01%s%s' "$p" "$h" | xxd -r -p | openssl dgst -sha256 -r | cut -c1-64)
    if [ $((fn % 2)) -eq 0 ]; then
      while [ $fn -ne 0 ] && [ $((fn % 2)) -eq 0 ]; do fn=$((fn / 2)); sn=$((sn / 2)); done
    fi
  else
    h=$(printf '01%s%s' "$h" "$p" | xxd -r -p | openssl dgst -sha256 -r | cut -c1-64)
  fi
  fn=$((fn / 2)); sn=$((sn / 2))
done
echo "$sn $h"     # must print: 0 {root_hex}
```

`sn` must end at 0 and `h` must equal the checkpoint's root; repeat for each line of `entries.jsonl`
(the seq of a line is the `"seq":` at its end).
"""
