"""What a reconciliation ends in (DESIGN §10): the statuses, the exceptions and the reconciliation id.

The simulator derives the ids of the reconciliations it expects with these same functions, so the
id of a recorded ``ReconciliationRecorded`` can be recomputed from its body alone: the signer,
``period``, ``funds``, ``statement_sha256`` and the ``exceptions`` it lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, get_args

from ledger.domain.schema import ReconStatus
from ledger.encoding.canonical import JSONValue, canonical

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
    for key in ("payment_id", "bank_reference"):
        if item.get(key) is not None:
            out[key] = item[key]
    out["amount_fen"] = item["amount_fen"]
    out["value_date"] = item["value_date"]
    return out


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
