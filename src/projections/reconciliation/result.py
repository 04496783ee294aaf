"""What a reconciliation ends in (DESIGN §10): the statuses, the exceptions and the reconciliation id.

The simulator derives the ids of the reconciliations it expects with these same functions, so the
id of a recorded ``ReconciliationRecorded`` can be recomputed from its body alone: the signer,
``period``, ``funds``, ``statement_sha256`` and the ``exceptions`` it lists.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, cast, get_args

from ledger.domain import pii_text
from ledger.domain.schema import ReconStatus
from ledger.encoding.canonical import JSONValue, canonical
from projections.reconciliation.matching import MAX_REFERENCE, LineOutcome, Matching, Payment, account_tail

STATUSES: Final[tuple[ReconStatus, ...]] = (
    # Money out with no payment in the ledger (FIN-BANK-UNMATCHED, critical), first.
    "unmatched_bank",
    "duplicate_bank",
    # A payment the bank made otherwise, or never (FIN-RECON-EXCEPTION, high): to another account,
    # of another amount, not at all, paid and come back unrecorded, on another day.
    "payee_mismatch",
    "amount_mismatch",
    "unmatched_ledger",
    "return_not_recorded",
    "date_mismatch",
    # Money out that fits several payments equally: no flag of its own (its payments, left unused,
    # are unmatched_ledger when dated in the period).
    "ambiguous",
    # Not exceptions.
    "return_matched",
    "credit_other",
    "matched",
    "skipped",
)
"""Every status of DESIGN §10, the most serious first: the order exceptions are listed and cut in."""

CLEAR: Final = frozenset({"matched", "return_matched", "credit_other", "skipped"})
"""The statuses that are not exceptions (DESIGN §10, Recording)."""

EXCEPTION_STATUSES: Final = tuple(s for s in STATUSES if s not in CLEAR)
MAX_EXCEPTIONS: Final = 400  # EVENTS.md: a ReconciliationRecorded lists at most 400
_RANK: Final[dict[str, int]] = {status: n for n, status in enumerate(STATUSES)}

assert set(STATUSES) == set(get_args(ReconStatus)), "STATUSES must list ReconStatus, each once"


def exception_of(item: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """A result line or unmatched payment as EVENTS.md's exception: ``{status, payment_id?,
    bank_reference?, amount_fen, value_date}``."""
    out: dict[str, JSONValue] = {"status": item.get("status", "unmatched_ledger")}
    if item.get("payment_id") is not None:
        out["payment_id"] = item["payment_id"]
    reference = item.get("bank_reference")
    if isinstance(reference, str) and recordable_reference(reference):
        out["bank_reference"] = reference
    out["amount_fen"] = item["amount_fen"]
    out["value_date"] = item["value_date"]
    return out


def recordable_reference(reference: str) -> bool:
    """Whether a statement's reference may go into the log: at most 64 characters, and not an ID
    number (EVENTS.md screens a ``bank_reference`` for one). A bank's own reference that is not is
    left out of the exception (the line's amount and date still name it) rather than have the
    whole reconciliation refused."""
    return len(reference) <= MAX_REFERENCE and pii_text.find(reference, free_text=False) is None


def exceptions_of(result_lines: Iterable[Mapping[str, JSONValue]],
                  unmatched_payments: Iterable[Mapping[str, JSONValue]]) -> tuple[list[dict[str, JSONValue]], int]:  # fmt: skip
    """The exceptions of a result (every line whose status is not clear, and every unmatched
    payment), the most serious first — within a status, lines by line number and payments by
    value date, as the result lists them — cut to :data:`MAX_EXCEPTIONS`; and how many there were."""
    found = [exception_of(line) for line in result_lines if line["status"] not in CLEAR]
    found += [exception_of({**payment, "status": "unmatched_ledger"}) for payment in unmatched_payments]
    found.sort(key=lambda e: _RANK[str(e["status"])])  # stable: each status keeps the result's order
    return found[:MAX_EXCEPTIONS], len(found)


def reconciliation_id(actor: str, period: str, funds: Sequence[str] | None, statement_sha256: str,
                      exceptions: Sequence[Mapping[str, JSONValue]]) -> str:  # fmt: skip
    """``"R-" + period + "-" + hex(SHA-256(JCS({actor, period, funds, statement_sha256,
    exceptions})))[:16]`` (DESIGN §10), over the exceptions as recorded (at most 400): the same
    statement with the same outcome gets the same id, so recording it again is a duplicate."""
    document = {
        "actor": actor,
        "period": period,
        "funds": None if funds is None else list(funds),
        "statement_sha256": statement_sha256,
        "exceptions": [dict(e) for e in exceptions],
    }
    return f"R-{period}-{hashlib.sha256(canonical(document)).hexdigest()[:16]}"


def document(matching: Matching, *, actor: str, period: str, funds: Sequence[str] | None, date_window: int,
             as_of: int | None, statement_sha256: str) -> dict[str, JSONValue]:  # fmt: skip
    """The result of DESIGN §10 (``reconcile --json``): every line by line number (skipped rows
    are counted, not listed: they have no date), the unused payments by value date then id, and
    a summary counting every status, zeros included."""
    lines = [line_json(o) for o in matching.lines if o.status != "skipped"]
    unmatched = [payment_json(p) for p in matching.unmatched_payments]
    counts = Counter(o.status for o in matching.lines)
    counts["unmatched_ledger"] = len(unmatched)
    summary: dict[str, JSONValue] = {status: counts[status] for status in STATUSES}
    funds = None if funds is None else sorted(set(funds))
    exceptions, _ = exceptions_of(lines, unmatched)
    return {
        "reconciliation_id": reconciliation_id(actor, period, funds, statement_sha256, exceptions),
        "actor": actor,
        "period": period,
        "funds": None if funds is None else list[JSONValue](funds),
        "date_window": date_window,
        "as_of": as_of,
        "statement_sha256": statement_sha256,
        "summary": summary,
        "lines": list[JSONValue](lines),
        "unmatched_payments": list[JSONValue](unmatched),
    }


def line_json(o: LineOutcome) -> dict[str, JSONValue]:
    """One line of the result: its own reference, amount, date and account tail, and the payment it
    was matched with (or came closest to) with the ledger's amount."""
    assert o.line.value_date is not None
    out: dict[str, JSONValue] = {"line": o.line.line, "status": o.status}
    if o.method is not None:
        out["method"] = o.method
    if o.payment is not None:
        out["payment_id"], out["claim_id"] = o.payment.payment_id, o.payment.claim_id
    if o.line.reference is not None:
        out["bank_reference"] = o.line.reference
    out["amount_fen"] = o.amount_fen
    if o.payment is not None:
        out["ledger_amount_fen"] = o.payment.amount_fen
    out["value_date"] = o.line.value_date.isoformat()
    if (tail := account_tail(o.line.account)) is not None:
        out["account_tail"] = tail
    if o.candidates:
        out["candidates"] = list[JSONValue](o.candidates)
    return out


def payment_json(p: Payment) -> dict[str, JSONValue]:
    return {"payment_id": p.payment_id, "claim_id": p.claim_id, "bank_reference": p.bank_reference,
            "amount_fen": p.amount_fen, "value_date": p.value_date.isoformat()}  # fmt: skip


def recorded_body(result: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """The body of the ``ReconciliationRecorded`` that records ``result`` (EVENTS.md): the four
    totals, every status's count, the statement's hash and the exceptions, most serious first."""
    summary = cast("dict[str, int]", result["summary"])
    lines = cast("list[dict[str, JSONValue]]", result["lines"])
    unmatched = cast("list[dict[str, JSONValue]]", result["unmatched_payments"])
    exceptions, total = exceptions_of(lines, unmatched)

    def count(*statuses: str) -> int:
        return sum(summary[s] for s in statuses)

    body: dict[str, JSONValue] = {
        "reconciliation_id": result["reconciliation_id"],
        "period": result["period"],
        "statement_sha256": result["statement_sha256"],
        "matched": count("matched", "return_matched"),
        "unmatched_ledger": count("unmatched_ledger"),
        "unmatched_bank": count("unmatched_bank", "duplicate_bank", "ambiguous"),
        "mismatched": count("amount_mismatch", "payee_mismatch", "date_mismatch", "return_not_recorded"),
        "counts": {s: summary[s] for s in STATUSES},
        "exceptions": list[JSONValue](exceptions),
        "exceptions_total": total,
    }
    if result["funds"] is not None:
        body["funds"] = result["funds"]
    return body
