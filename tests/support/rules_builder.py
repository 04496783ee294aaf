"""A small builder for anomaly-rule tests, on top of :class:`support.scenario.Scenario`.

Each step signs one real envelope with the scenario's keys, dated on its business day, so a
test reads like the story it tells::

    sc = RuleScenario.create(db_url, tmp_path)
    sc.person("L-1")
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    sc.attend("C-1", "2019-04-08", ["L-1"])
    assert sc.flagged("SEQ-PAID-WITHOUT-ATTENDANCE") == []

``flags`` catches the projections up first and returns RULES.md's objects; ``flagged(rule)``
the ``(subject id, laborer_id)`` pairs of one rule's current flags.

``RuleScenario.in_memory(tmp_path)`` runs the same story with no database at all: envelopes are
signed with the scenario's real keys and decided by the ledger's own decider
(:class:`support.memory_log.MemoryLog`), the projections follow that log through the in-memory
unit of work (``projections.runner.catchup.project_in_memory``) and the flags are read by the same
queries (``projections.anomalies.query``) from the tables held in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from ledger.application import Item
from ledger.domain.envelope import Envelope
from ledger.encoding.canonical import canonical, canonical_str
from projections import tables as T
from projections.anomalies.query import Flag, FlagWithHistory, get_flag, list_flags
from projections.db import engine_for
from projections.runner.catchup import catch_up, project_in_memory
from projections.uow import MemoryTables
from support.kept_rows import comparable
from support.scenario import XIJI, Scenario

PAYEE = "ab" * 32  # the institution's account (a payee_account HMAC, as the log holds it)
TRAINING_FUND = "F-2019-640422-training"
LA_FUND = "F-2019-640422-living_allowance"
EMPLOYER_FUND = "F-2019-640422-employer"
START = "2019-04-08"  # a Monday

# (standard_id, kind, programme, certificate_type, occupation, amount_fen, per)
STANDARDS = [
    ("STD-TC", "training", None, "training_completion", None, 80000, "trainee"),
    ("STD-VQ-CHEF", "training", "employment_skill", "vocational_qualification", "中式烹调师", 150000, "trainee"),
    ("STD-DL", "training", "driver", "driving_licence", None, 300000, "trainee"),
    ("STD-APR-VQ", "appraisal", None, "vocational_qualification", None, 20000, "trainee"),
    ("STD-EMP", "employer", None, None, None, 100000, "trainee"),
    ("STD-LA", "living_allowance", None, None, None, 3000, "day"),
]


def canonical_sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def at(day: str, hour: int = 10) -> str:
    return f"{day}T{hour:02d}:00:00+08:00"


def plus(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


class RuleScenario(Scenario):
    tables: MemoryTables | None = None  # the projections held in memory (in-memory scenarios)

    @classmethod
    def create(cls, db_url: str, tmp_path: Path, *, actors: bool = True) -> RuleScenario:
        sc = super().create(db_url, tmp_path, actors=actors)
        assert isinstance(sc, RuleScenario)
        return sc

    @classmethod
    def in_memory(cls, tmp_path: Path, *, actors: bool = True) -> RuleScenario:
        sc = super().in_memory(tmp_path, actors=actors)
        assert isinstance(sc, RuleScenario)
        return sc

    # --- many envelopes in one append (large rosters) ----------------------------------------------
    def many(self, steps: list[tuple[str, str, dict[str, Any], str]]) -> list[int]:
        """Append ``(actor, type, body, at)`` steps in one batch; every one must be accepted."""
        items = [Item(Envelope.from_dict(self.envelope(a, t, b, at=when))) for a, t, b, when in steps]
        outcomes = self.ledger.append(items)
        assert all(o.status == "accepted" for o in outcomes), [o for o in outcomes if o.status != "accepted"]
        return [o.seq for o in outcomes if o.seq is not None]

    # --- reference data -------------------------------------------------------------------------------
    def standards(self, only: tuple[str, ...] | None = None) -> None:
        for sid, kind, programme, ctype, occupation, amount, per in STANDARDS:
            if only is not None and sid not in only:
                continue
            body: dict[str, Any] = {"standard_id": sid, "kind": kind}
            if programme:
                body["programme"] = programme
            if ctype:
                body["certificate_type"] = ctype
            if occupation:
                body["occupation"] = occupation
            body.update(amount_fen=amount, per=per, effective_from="2018-01-01")
            self.ok("admin", "SubsidyStandardSet", body, at=at("2018-12-18"))

    def fund_of(self, fund_id: str = TRAINING_FUND, *, purpose: str = "training", amount: int = 50_000_000,
                code: str = XIJI, year: int = 2019, poverty_only: bool | None = None, by: str = "fin-xj") -> int:  # fmt: skip
        body: dict[str, Any] = {"fund_id": fund_id, "jurisdiction": code, "source": "central", "purpose": purpose,
                                "year": year, "amount_fen": amount}  # fmt: skip
        if poverty_only is not None:
            body["poverty_only"] = poverty_only
        return self.ok(by, "FundAllocated", body, at=at(f"{year}-01-03"))

    # --- labourers ----------------------------------------------------------------------------------
    def person(self, laborer_id: str, *, birth: str = "1985-06-01", category: str = "poor", confirm: bool = True,
               household: str | None = None, fp: str | None = None, day: str = "2019-03-01") -> int:  # fmt: skip
        n = int("".join(ch for ch in laborer_id if ch.isdigit()) or "0")
        seq = self.ok("pov-xj", "LaborerRegistered", {
            "laborer_id": laborer_id, "household_id": household or f"H-{n:05d}", "jurisdiction": XIJI,
            "township": "吉强镇", "village": "龙王坝村", "birth_date": birth, "gender": "female",
            "category": category, "id_fingerprint": fp or f"{n:064x}", "pii_commitment": f"{n + 7:064x}",
        }, at=at(day))  # fmt: skip
        if confirm:
            self.ok("pov-xj", "IdentityConfirmed", {"laborer_id": laborer_id, "basis": "建档立卡贫困户，系统比对一致"},
                    at=at(plus(day, 1)))  # fmt: skip
        return seq

    def people(self, ids: list[str], **kw: Any) -> None:
        """Register (and confirm) many labourers in one batch."""
        steps = []
        for laborer_id in ids:
            n = int("".join(ch for ch in laborer_id if ch.isdigit()) or "0")
            steps.append(("pov-xj", "LaborerRegistered", {
                "laborer_id": laborer_id, "household_id": f"H-{n:05d}", "jurisdiction": XIJI, "township": "吉强镇",
                "village": "龙王坝村", "birth_date": kw.get("birth", "1985-06-01"), "gender": "female",
                "category": "poor", "id_fingerprint": f"{n:064x}", "pii_commitment": f"{n + 7:064x}",
            }, at("2019-03-01")))  # fmt: skip
            steps.append(("pov-xj", "IdentityConfirmed", {"laborer_id": laborer_id, "basis": "系统比对一致"},
                          at("2019-03-02")))  # fmt: skip
        self.many(steps)

    # --- classes ---------------------------------------------------------------------------------------
    def open_class(self, class_id: str, *, programme: str = "employment_skill", occupation: str = "家政服务",
                   in_catalog: bool = False, start: str = START, end: str | None = None, approve: bool = True,
                   approved_on: str | None = None, by: str = "inst-xj", hr: str = "hr-xj", code: str = XIJI) -> int:  # fmt: skip
        """Request (three weeks before ``start``) and approve (a week before) a class."""
        seq = self.ok(by, "ClassOpeningRequested", {
            "class_id": class_id, "programme": programme, "occupation": occupation, "in_catalog": in_catalog,
            "jurisdiction": code, "site": "西吉县职业技术学校实训楼", "planned_start": start,
            "planned_end": end or plus(start, 24), "capacity": 40, "hours_per_day": 8, "practical_percent": 75,
            "subsidy_per_trainee_fen": 80000,
        }, at=at(plus(start, -21)))  # fmt: skip
        if approve:
            self.ok(hr, "ClassOpeningApproved", {"class_id": class_id}, at=at(approved_on or plus(start, -7)))
        return seq

    def enrol(self, class_id: str, laborer_id: str, *, on: str = plus(START, -5), by: str = "inst-xj") -> int:
        return self.ok(by, "TraineeEnrolled", {"class_id": class_id, "laborer_id": laborer_id}, at=at(on))

    def withdraw(self, class_id: str, laborer_id: str, *, on: str, by: str = "inst-xj") -> int:
        return self.ok(by, "TraineeWithdrawn", {"class_id": class_id, "laborer_id": laborer_id,
                                                "reason": "外出务工，本人申请退出"}, at=at(on, 8))  # fmt: skip

    def attend(self, class_id: str, date: str, laborers: list[str], *, theory: int = 2, practical: int = 6,
               signed: str | None = None, by: str = "inst-xj") -> int:  # fmt: skip
        trainees = [{"laborer_id": lid, "theory_hours": theory, "practical_hours": practical} for lid in laborers]
        return self.ok(by, "AttendanceRecorded", {"class_id": class_id, "date": date, "trainees": trainees},
                       at=at(signed or date, 18))  # fmt: skip

    def complete(self, class_id: str, end: str, completers: list[str], *, by: str = "inst-xj") -> int:
        return self.ok(by, "ClassCompleted", {"class_id": class_id, "end_date": end, "completers": completers},
                       at=at(end, 19))  # fmt: skip

    def review(self, class_id: str, *, approved: bool = True, on: str = "2019-05-10", hr: str = "hr-xj") -> int:
        return self.ok(hr, "CompletionReviewed", {"class_id": class_id, "approved": approved,
                                                  "note": "结业资料齐全" if approved else "考勤表缺失，不予通过"},
                       at=at(on))  # fmt: skip

    def certify(self, number: str, laborer_id: str, class_id: str, *, ctype: str = "training_completion",
                issued: str = "2019-05-06", occupation: str = "家政服务", level: str | None = None,
                by: str | None = None) -> int:  # fmt: skip
        signer = by or {"training_completion": "inst-xj", "driving_licence": "traffic"}.get(ctype, "apc")
        body: dict[str, Any] = {"certificate_no": number, "certificate_type": ctype}
        if level:
            body["level"] = level
        body.update(laborer_id=laborer_id, class_id=class_id, occupation=occupation, issued_on=issued)
        return self.ok(signer, "CertificateIssued", body, at=at(issued))

    def inspect(self, inspection_id: str, class_id: str, date: str, *, present: list[str], absent: list[str] = (),  # type: ignore[assignment]
                verdict: str = "pass", method: str = "spot_check", by: str = "insp", signed: str | None = None,
                findings: list[dict[str, Any]] | None = None, subject: tuple[str, str] | None = None) -> int:  # fmt: skip
        kind, ident = subject or ("class", class_id)
        checklist = None if method in ("phone_visit", "questionnaire") else dict.fromkeys(
            ("plan", "teachers", "facilities", "practical", "textbooks", "attendance"), verdict == "pass")  # fmt: skip
        return self.ok(by, "InspectionRecorded", {
            "inspection_id": inspection_id, "method": method, "subject_kind": kind, "subject_id": ident,
            "date": date, "class_id": class_id, "present": list(present), "absent": list(absent),
            "checklist": checklist, "findings": findings or [], "verdict": verdict,
        }, at=at(signed or date, 11))  # fmt: skip

    # --- money -----------------------------------------------------------------------------------------
    def claim_of(self, claim_id: str, class_id: str | None, lines: list[tuple[str, int] | tuple[str, int, str | None]],
                 *, kind: str = "training", by: str = "inst-xj", on: str = "2019-05-13", payee: str = PAYEE,
                 employment: dict[str, str] | None = None, hour: int = 9) -> int:  # fmt: skip
        body_lines = []
        for line in lines:
            laborer_id, amount = line[0], line[1]
            item: dict[str, Any] = {"laborer_id": laborer_id, "amount_fen": amount}
            if len(line) > 2 and line[2] is not None:
                item["certificate_no"] = line[2]
            if employment and laborer_id in employment:
                item["employment_id"] = employment[laborer_id]
            body_lines.append(item)
        body: dict[str, Any] = {"claim_id": claim_id, "kind": kind}
        if class_id is not None:
            body["class_id"] = class_id
        body.update(lines=body_lines, payee_account=payee, total_fen=sum(ln["amount_fen"] for ln in body_lines))
        return self.ok(by, "SubsidyClaimed", body, at=at(on, hour))

    def approve(self, claim_id: str, lines: list[tuple[str, int]], *, on: str = "2019-05-20", hr: str = "hr-xj") -> int:
        return self.ok(hr, "ClaimApproved", {
            "claim_id": claim_id, "lines": [{"laborer_id": lid, "amount_fen": a} for lid, a in lines],
            "total_fen": sum(a for _, a in lines)}, at=at(on, 15))  # fmt: skip

    def reject(self, claim_id: str, *, on: str = "2019-05-20") -> int:
        return self.ok("hr-xj", "ClaimRejected", {"claim_id": claim_id, "reason": "材料不全"}, at=at(on, 14))

    def pay(self, payment_id: str, claim_id: str, amount: int, *, fund: str = TRAINING_FUND, value: str = "2019-06-03",
            payee: str = PAYEE, by: str = "fin-xj") -> int:  # fmt: skip
        return self.ok(by, "PaymentDisbursed", {
            "payment_id": payment_id, "claim_id": claim_id, "fund_id": fund, "amount_fen": amount,
            "payee_account": payee, "bank_reference": f"GKZF-{payment_id}", "value_date": value}, at=at(value))  # fmt: skip

    def returned(self, payment_id: str, *, on: str = "2019-06-06") -> int:
        return self.ok("fin-xj", "PaymentReturned", {"payment_id": payment_id, "reason": "账户冻结，原路退回"},
                       at=at(on, 14))  # fmt: skip

    def reconciled(self, period: str, exceptions: list[tuple[str, str | None, int, str]], *, on: str,
                   funds: list[str] | None = None, by: str = "fin-xj", matched: int = 0,
                   nonce: str | None = None, reconciliation_id: str | None = None) -> int:  # fmt: skip
        """A ``ReconciliationRecorded`` of ``period`` signed ``on`` a day, listing ``exceptions``
        as ``(status, payment_id or None, amount_fen, value_date)`` and its counts as EVENTS.md sums them."""
        listed = [{"status": st, **({"payment_id": pid} if pid else {"bank_reference": f"YH-{n:04d}"}),
                   "amount_fen": amount, "value_date": value} for n, (st, pid, amount, value) in enumerate(exceptions)]
        counts = {st: sum(e["status"] == st for e in listed) for st in (
            "amount_mismatch", "payee_mismatch", "date_mismatch", "duplicate_bank", "ambiguous", "unmatched_bank",
            "return_not_recorded", "unmatched_ledger")}  # fmt: skip
        body: dict[str, Any] = {
            "reconciliation_id": reconciliation_id or f"R-{period}-{next(self._n):016x}", "period": period,
            "statement_sha256": canonical_sha256(listed), "matched": matched,
            "unmatched_ledger": counts["unmatched_ledger"],
            "unmatched_bank": counts["unmatched_bank"] + counts["duplicate_bank"] + counts["ambiguous"],
            "mismatched": counts["amount_mismatch"] + counts["payee_mismatch"] + counts["date_mismatch"]
            + counts["return_not_recorded"],
            "counts": {**counts, "matched": matched, "return_matched": 0, "credit_other": 0, "skipped": 0},
            "exceptions": listed, "exceptions_total": len(listed)}  # fmt: skip
        if funds is not None:
            body["funds"] = funds
        return self.ok(by, "ReconciliationRecorded", body, at=at(on, 16), nonce=nonce)

    def paid_claim(self, claim_id: str, class_id: str, lines: list[tuple[str, int] | tuple[str, int, str | None]],
                   *, payment_id: str | None = None, value: str = "2019-06-03", fund: str = TRAINING_FUND,
                   kind: str = "training", on: str = "2019-05-13") -> int:  # fmt: skip
        """Claim, approve as claimed, pay in full: returns the payment's seq."""
        self.claim_of(claim_id, class_id, lines, kind=kind, on=on)
        self.approve(claim_id, [(ln[0], ln[1]) for ln in lines], on=plus(on, 7))
        return self.pay(payment_id or f"P-{claim_id}", claim_id, sum(ln[1] for ln in lines), fund=fund, value=value)

    # --- reading the flags ---------------------------------------------------------------------------
    def projected(self) -> Engine | MemoryTables:
        """The projections caught up with the log: the database's, or the tables held in memory."""
        if self.in_memory_log:
            self.tables = project_in_memory(self.ledger, self.tables)
            return self.tables
        catch_up(self.ledger)
        return engine_for(self.ledger)

    def flags(self, **filters: Any) -> list[Flag]:
        return list_flags(self.projected(), **filters)

    def flagged(self, rule: str, **filters: Any) -> list[tuple[str, str | None]]:
        return sorted((f["subject"]["id"], f["laborer_id"]) for f in self.flags(rule=rule, **filters))

    def one(self, rule: str, **filters: Any) -> Flag:
        found = self.flags(rule=rule, **filters)
        assert len(found) == 1, found
        return found[0]

    def flag(self, anomaly_id: str, as_of: int | None = None) -> FlagWithHistory | None:
        return get_flag(self.projected(), anomaly_id, as_of=as_of)

    def memory_matches_database(self) -> None:
        """The in-memory projection of this log (what the in-memory rule tests run on) holds the
        very rows the database's projection holds, in every table."""
        engine = self.projected()
        assert isinstance(engine, Engine)
        tables = project_in_memory(self.ledger)
        with engine.connect() as conn:
            stored = T.dump(conn)
        for table in tables.keep:
            key = T.primary_key(table)

            def order(row: dict[str, Any], key: list[str] = key) -> str:
                return canonical_str([row[k] for k in key])

            held = sorted((comparable(row) for row in tables.rows(table)), key=order)
            assert held == sorted((comparable(row) for row in stored[table.name]), key=order), table.name
        assert tables.position == self.ledger.size()
