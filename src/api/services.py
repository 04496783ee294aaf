"""The use cases both front ends call: record, import, catch up after a write, and the queries.

The composition root's one door to :class:`ledger.service.Session` and the projections for these
verbs (STYLE.md habit 1: ``api`` wires ``ledger`` and ``projections``; cosmicpython's service
layer). The CLI parses options, calls one of these, and renders what comes back; the HTTP API is
to do the same. Nothing here prints or picks a language: long work reports through a
:data:`Meter` the front end supplies (a progress bar on a terminal, :func:`quiet` elsewhere), and
failures are raised as :class:`~ledger.errors.LedgerError` for :mod:`api.errors` to map.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, TypedDict, cast

from ledger.application import Ledger, Outcome
from ledger.encoding.canonical import JSONValue
from ledger.errors import (
    ImportStopped,
    InvalidField,
    OperationalError,
    RoleNotAllowed,
    UnknownActor,
    UnknownReference,
)
from ledger.service import Session

if TYPE_CHECKING:  # sqlalchemy loads with the projections, when a verb reads them (log and verify do not)
    from sqlalchemy.engine import Engine

    from ledger import Progress
    from ledger.persistence.store import StoredCheckpoint
    from ledger.translog.export import Exported
    from projections.anomalies.query import EvidenceEvent, Flag, FlagWithHistory
    from projections.readmodels.balances import Balances
    from projections.trace.query import Traced
    from simulator import InjectedCase, Simulation

Task = Literal["importing", "catching_up", "simulating"]
Meter = Callable[[Task, "int | None"], AbstractContextManager["Progress"]]
"""Opens a progress report for ``task`` of ``total`` steps (None: unknown) and returns the
function told how many more steps are done."""


@contextmanager
def quiet(task: Task, total: int | None) -> Iterator[Progress]:
    """A :data:`Meter` that reports nothing (the HTTP API, tests)."""
    yield lambda n: None


# --- what the queries return (the documents themselves are typed where projections builds them) ------------
class Position(NamedTuple):
    """Where the projections stand for a query: the last leaf included and DESIGN §3's clock."""

    last: int | None
    clock: str | None


class LeafRow(NamedTuple):
    seq: int
    recorded_at: str
    leaf: bytes


# --- catching the projections up -------------------------------------------------------------------------
def catch_up(ledger: Ledger, meter: Meter = quiet) -> Engine:
    """Project every leaf not projected yet; the projections' engine. Raises
    :class:`~projections.runner.catchup.ProjectionInconsistent` when the tables contradict their
    position: a query must not answer from stale or mixed rows."""
    from projections.db import engine_for
    from projections.runner.catchup import catch_up as project
    from projections.runner.catchup import position

    engine = engine_for(ledger)
    if meter is quiet:  # a read of the HTTP API: no count of the backlog to report (three queries fewer)
        project(ledger, engine=engine)
        return engine
    with meter("catching_up", ledger.size() - position(engine)) as advance:
        project(ledger, progress=advance)
    return engine


def after_write(ledger: Ledger, meter: Meter = quiet) -> Exception | None:
    """The catch-up a write ends with. The log is the record: if projecting fails, what was
    accepted stays accepted, and the error is returned for the front end to warn of (the fix is
    ``rebuild``), not raised as a failed write."""
    try:
        catch_up(ledger, meter)
    except Exception as exc:  # any: a rule's bug must not undo an accepted write
        return exc
    return None


# --- writes ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    lagging: Exception | None = None  # why the projections did not catch up after it


def submit(session: Session, text: str, meter: Meter = quiet) -> Recorded:
    """Record one envelope, or one intent signed with its actor's key from the keystore."""
    outcome = session.submit(text)
    return Recorded(outcome, after_write(session.ledger, meter) if outcome.status == "accepted" else None)


def submit_signed(session: Session, text: str, meter: Meter = quiet) -> Recorded:
    """Record one envelope its actor signed elsewhere (the HTTP API: the server holds no
    organisation's key, so an unsigned intent is refused, never signed here). As :func:`submit`
    otherwise: the operator's checkpoint at most once per ``checkpoint_interval``, then catch-up."""
    from ledger.keys.signing import parse_line

    outcome = session.ledger.append([parse_line(text, None)])[0]
    if outcome.status == "accepted":
        session.checkpoint_after_write(min_interval=session.checkpoint_interval)
    return Recorded(outcome, after_write(session.ledger, meter) if outcome.status == "accepted" else None)


@dataclass
class Imported:
    """What an import did: counts by status; ``stopped`` if a line could not be handled at all
    (every line before it is appended and checkpointed); ``lagging`` as :class:`Recorded`."""

    counts: Counter[str] = field(default_factory=Counter)
    stopped: ImportStopped | None = None
    lagging: Exception | None = None
    size: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def import_lines(session: Session, lines: Iterable[str], *, sign: bool, total: int | None,
                 on_line: Callable[[int, Outcome], None], meter: Meter = quiet, catch_up: bool = True) -> Imported:  # fmt: skip
    """Import JSON Lines (DESIGN §9), telling ``on_line`` each line's outcome as it is known.

    ``catch_up=False`` leaves the projections to a follower (``serve``). A line that is not text (``UnicodeDecodeError``) ends the import unreported, as reading the
    file failed; accepted lines stay accepted.
    """
    done = Imported()
    try:
        with meter("importing", total) as advance:
            for line, outcome in session.import_lines(lines, sign=sign, progress=advance):
                done.counts[outcome.status] += 1
                on_line(line, outcome)
    except ImportStopped as exc:
        done.stopped = exc
    if catch_up and done.counts["accepted"]:
        done.lagging = after_write(session.ledger, meter)
    done.size = session.ledger.size()
    return done


class Simulated(TypedDict):
    counts: dict[str, int]
    refusal_examples: list[str]
    sim: Simulation


def run_simulation(session: Session, scale: str, seed: int, misuse_rate: float, truth: Path | None,
                   meter: Meter = quiet, *, statements: Path | None = None, order: str = "chronological",
                   order_seed: int | None = None) -> Simulated:  # fmt: skip
    """Simulate Guyuan's programme into the ledger, in business order or in a random migration
    order the ledger accepts (``order="shuffled"``, seeded by ``order_seed``); write the injected
    truth to ``truth`` (the same for every order), with raw account numbers replaced by their payee
    hashes (DESIGN §7), never into the ledger; and each finance bureau's monthly bank statements
    (DESIGN §10) into the folder ``statements``, the truth listing what reconciling each must find."""
    from simulator import simulate

    sim = simulate(scale, seed=seed, misuse_rate=misuse_rate, order=order, order_seed=order_seed)
    if statements is not None:
        write_statements(sim, statements)
    with meter("simulating", sim.count()) as advance:
        counts = dict(session.run_simulation(sim, progress=advance))
    examples = cast("list[str]", counts.pop("refusal_examples", []))
    if truth is not None:
        def case(c: InjectedCase) -> dict[str, JSONValue]:
            subject_id = c.subject_id
            if subject_id.startswith("raw:"):
                subject_id = session.payee_account(subject_id.removeprefix("raw:"))
            return {"rule": c.rule, "subject": {"kind": c.subject_kind, "id": subject_id},
                    "laborer_id": c.laborer_id, "note": c.note}  # fmt: skip

        doc = {"truth": [case(c) for c in sim.truth], "expected_knock_on": [case(c) for c in sim.expected_knock_on],
               "statements": sim.statement_truth()}  # fmt: skip
        truth.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"counts": counts, "refusal_examples": examples, "sim": sim}


def write_statements(sim: Simulation, folder: Path) -> list[Path]:
    """The simulated bank statements as the bureaus download them (GBK CSV and XLSX), into ``folder``."""
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in sim.statements():
            (folder / name).write_bytes(data)
            written.append(folder / name)
    except OSError as exc:
        raise OperationalError(f"cannot write the bank statements to {folder}: {exc.strerror}",
                               zh=f"无法把银行对账单写入 {folder}：{exc.strerror}") from None  # fmt: skip
    return written


# --- reconciliation (DESIGN §10) ----------------------------------------------------------------------------
MAX_DATE_WINDOW = 31  # days: a window wider than a month would match one month's lines with another's payments


def reconcile(session: Session, statement: Path, meter: Meter = quiet, *, actor: str, period: str,
              funds: Sequence[str] | None = None, date_window: int = 3, as_of: int | None = None,
              columns: Mapping[str, str] | None = None) -> dict[str, JSONValue]:  # fmt: skip
    """Match a finance bureau's bank statement against the payments it signed, after catching up:
    the result document of DESIGN §10. Refuses a window outside 0..31 days, an actor that is no
    finance bureau, a fund the log does not hold, and a statement :func:`read_statement` refuses."""
    from ledger.domain.aggregates import Fund
    from projections.readmodels.queries import resolve_as_of
    from projections.reconciliation.matching import match
    from projections.reconciliation.payments import BureauPayments
    from projections.reconciliation.result import document
    from projections.reconciliation.statement import read_statement

    if not 0 <= date_window <= MAX_DATE_WINDOW:
        raise InvalidField(f"--date-window {date_window}: must be 0 to {MAX_DATE_WINDOW} days",
                           zh=f"--date-window {date_window}：须为 0 到 {MAX_DATE_WINDOW} 天")  # fmt: skip
    bureau = session.ledger.actor(actor)
    if bureau is None:
        raise UnknownActor(f"unknown actor {actor!r}", zh=f"没有主体 {actor!r}")
    if bureau.role != "finance_bureau":
        raise RoleNotAllowed(f"{actor} is a {bureau.role}: only a finance bureau reconciles its bank statements",
                             zh=f"{actor} 不是财政局：只有财政局核对自己的银行对账单")  # fmt: skip
    for fund in funds or ():
        if not session.ledger.lookup(Fund, fund).exists:
            raise UnknownReference(f"unknown fund {fund!r}", zh=f"没有专项资金 {fund!r}")
    read = read_statement(statement, period=period, window=date_window, columns=columns)
    engine = catch_up(session.ledger, meter)
    with engine.connect() as conn:
        last = resolve_as_of(conn, as_of)
        book = BureauPayments(conn, actor, funds, last)
        matching = match(read.lines, book, period=period, window=date_window, fingerprint=session.payee_fingerprints())
    return document(matching, actor=actor, period=period, funds=funds, date_window=date_window, as_of=last,
                    statement_sha256=read.sha256)  # fmt: skip


def record_reconciliation(session: Session, result: Mapping[str, JSONValue], meter: Meter = quiet) -> Recorded:
    """Sign ``ReconciliationRecorded`` for ``result`` as its actor and catch up. The id is derived
    from the outcome, so the same statement with the same outcome again is the event already in
    the log: reported as a duplicate with its seq, nothing recorded (DESIGN §10)."""
    from ledger.domain.aggregates import Reconciliation
    from projections.reconciliation.result import recorded_body

    body = recorded_body(result)
    session.ledger.head()  # another writer may have recorded it: drop stale aggregates first
    existing = session.ledger.lookup(Reconciliation, str(body["reconciliation_id"]))
    if existing.exists:
        return Recorded(Outcome("duplicate", existing.first_seq))
    outcome = session.record(str(result["actor"]), "ReconciliationRecorded", body)
    return Recorded(outcome, after_write(session.ledger, meter))


# --- queries ------------------------------------------------------------------------------------------------
def log_page(ledger: Ledger, start: int = 0, limit: int | None = None) -> Iterator[LeafRow]:
    """Leaves in seq order from ``start``, at most ``limit`` of them."""
    for seq, recorded_at, leaf in ledger.leaves(start, None if limit is None else start + limit):
        yield LeafRow(seq, recorded_at, leaf)


def position_of(engine: Engine, as_of: int | None) -> Position:
    """The last leaf a query with ``as_of`` includes, and the log clock there."""
    from projections.readmodels.queries import log_clock, resolve_as_of

    with engine.connect() as conn:
        last = resolve_as_of(conn, as_of)
        return Position(last, log_clock(conn, last) if last is not None else None)


def balances(session: Session, meter: Meter = quiet, *, as_of: int | None = None, jurisdiction: str | None = None,
             fund: str | None = None, institution: str | None = None, laborer: str | None = None,
             period: str | None = None, claim: str | None = None,
             account: str | None = None) -> tuple[Balances, Engine]:  # fmt: skip
    """The double-entry balances after catching up (DESIGN §5), and the engine for more reads."""
    from projections.readmodels.balances import balances as query

    engine = catch_up(session.ledger, meter)
    result = query(engine, as_of=as_of, jurisdiction=jurisdiction, fund=fund, institution=institution,
                   laborer=laborer, period=period, claim=claim, account=account,
                   jurisdictions=session.ledger.jurisdictions)  # fmt: skip
    return result, engine


def anomalies(session: Session, meter: Meter = quiet, *, rule: str | None = None, severity: str | None = None,
              jurisdiction: str | None = None, status: str | None = None,
              as_of: int | None = None) -> tuple[list[Flag], Engine]:  # fmt: skip
    """Flags after catching up, most severe first; ``ValueError`` names a filter value not known."""
    from projections.anomalies.query import list_flags

    engine = catch_up(session.ledger, meter)
    flags = list_flags(engine, rule=rule, severity=severity, jurisdiction=jurisdiction, status=status,
                       as_of=as_of, jurisdictions=session.ledger.jurisdictions)  # fmt: skip
    return flags, engine


def anomaly(session: Session, anomaly_id: str, meter: Meter = quiet, *,
            as_of: int | None = None) -> tuple[FlagWithHistory, list[EvidenceEvent]] | None:  # fmt: skip
    """One flag (any status) with its history and evidence leaves, or None."""
    from projections.anomalies.query import get_flag

    engine = catch_up(session.ledger, meter)
    flag = get_flag(engine, anomaly_id, as_of=as_of)
    if flag is None:
        return None
    return flag, evidence(session.ledger, engine, flag["evidence"])


def evidence(ledger: Ledger, engine: Engine, seqs: Iterable[int]) -> list[EvidenceEvent]:
    """Each evidence leaf in an inspector's terms: who signed what, when, with which key."""
    from projections.anomalies.query import evidence_events

    return evidence_events(ledger, engine, seqs)


# --- reports ------------------------------------------------------------------------------------------------
class MonthlyReport(NamedTuple):
    """DESIGN §11's document and the chart's months (``projections.reports.monthly``)."""

    doc: dict[str, JSONValue]
    series: list[dict[str, JSONValue]]


def monthly_report(session: Session, meter: Meter = quiet, *, month: str, jurisdiction: str | None = None,
                   checkpoint: int | None = None, compare_with: int | None = None) -> MonthlyReport:  # fmt: skip
    """The monthly report after catching up: at the checkpoint of size ``checkpoint`` (default
    the latest), for ``jurisdiction`` (default the city), targets from the keystore's
    ``report-targets.toml`` (docs/reports.md)."""
    from projections.reports import monthly as M

    engine = catch_up(session.ledger, meter)
    issued = M.pick_checkpoint(_signings(session.ledger, checkpoint), checkpoint)
    later = None if compare_with is None else M.pick_checkpoint(_signings(session.ledger, compare_with), compare_with)
    places = session.ledger.jurisdictions
    code = jurisdiction or next(c for c, parent in places.parents.items() if parent is None)
    targets_file = session.keys.root / M.TARGETS_FILE
    text = targets_file.read_text(encoding="utf-8") if targets_file.is_file() else ""
    target = M.parse_targets(text, places).get(code)
    with engine.connect() as conn:
        doc = M.monthly_report(conn, month=month, jurisdiction=code, checkpoint=issued, jurisdictions=places,
                               target=target, compare_with=later)  # fmt: skip
        series = M.monthly_series(conn, month=month, jurisdiction=code, checkpoint=issued, jurisdictions=places)
    return MonthlyReport(doc, series)


def _signings(ledger: Ledger, size: int | None) -> list[StoredCheckpoint]:
    """The signings of the checkpoint of ``size`` (default: the latest), else its nearest neighbours,
    for :func:`~projections.reports.monthly.pick_checkpoint`: indexed, never every checkpoint (DESIGN §8)."""
    if size is None:
        latest = ledger.latest_checkpoint()
        size = None if latest is None else latest.size
    if size is None:
        return []
    return ledger.checkpoints_of_size(size) or ledger.checkpoints_beside(size)


# --- trace and evidence (DESIGN §12, §6) --------------------------------------------------------------------
def trace_checkpoint(session: Session, size: int | None = None) -> tuple[int, bytes]:
    """(size, root) of the stored checkpoint of ``size`` leaves (default: the latest), its note verified
    with the operator's key from the keystore (never the database's word for it)."""
    from ledger.translog.proofs import ProofRequestInvalid
    from ledger.translog.verify import load_operator_verifiers, verify_checkpoint_note

    ledger = session.ledger
    if size is None:
        stored = ledger.latest_checkpoint()
    else:
        signed = ledger.checkpoints_of_size(size)
        stored = signed[-1] if signed else None
    if stored is None:
        if size is None:
            raise ProofRequestInvalid("no checkpoint yet: sign one with `checkpoint`", zh="尚无检查点：请先运行 checkpoint 签署")
        raise ProofRequestInvalid(f"no checkpoint of size {size}", zh=f"没有大小为 {size} 的检查点")
    checkpoint = verify_checkpoint_note(stored.note, load_operator_verifiers(session.keys))
    return checkpoint.size, checkpoint.root_hash


def trace(session: Session, kind: str, ident: str, meter: Meter = quiet, *, checkpoint: int | None = None,
          start: int = 0, limit: int | None = None) -> Traced:  # fmt: skip
    """The trace of ``kind`` ``ident`` under a checkpoint, after catching the projections up."""
    from projections.trace.query import trace as query

    engine = catch_up(session.ledger, meter)
    size, root = trace_checkpoint(session, checkpoint)
    return query(session.ledger, engine, kind, ident, size, root, start=start, limit=limit)


def export_evidence(session: Session, kind: str, ident: str, directory: str | Path,
                    progress: Progress | None = None, meter: Meter = quiet) -> Exported:  # fmt: skip
    """``export evidence``: exactly the trace's leaves and their signers' registry leaves (DESIGN §6),
    selected by the trace (the ledger writes them, the projections choose them)."""
    from ledger.translog.export import export_evidence as write
    from projections.trace.query import evidence_seqs

    engine = catch_up(session.ledger, meter)
    return write(session, kind, ident, directory, lambda size: evidence_seqs(session.ledger, engine, kind, ident, size),
                 progress)  # fmt: skip
