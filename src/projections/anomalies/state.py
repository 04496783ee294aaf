"""The rules' indexes, kept up by every event before the rules look (``pj_rule_state``).

The base read models answer "the row with this key"; rules also ask "which claims cite this
class", "where was this labourer on this day", "what did this day's attendance list before it
was recorded again". Those answers live here, in one JSON value per subject keyed by primary
key, so each is one prefetched lookup. Spaces:

=============  ==========================================================================
``class``      ``claims`` (ids), ``insp`` (inspection_id → [seq, actor, method, date,
               verdict]), ``certs``, ``emps`` (order-training employments), ``roster``
               (active labourer → enrolment seq), ``out`` (withdrawn labourer → [date, seq]),
               ``att`` (labourer → days attended), ``entries`` (date → seqs of enrolments and
               attendance dated that day), ``days`` (attendance dates), ``tp`` (Σ theory,
               Σ practical over the current class-days)
``cday``       ``class|date`` → [seq, labourers, Σ theory, Σ practical, hours] of the current
               record (hours: the most theory + practical of a line, as RULES.md defines)
``laborer``    ``att`` (class → the sorted dates they are in its attendance), ``classes`` (class →
               [first enrolment seq,
               institution, start year]), ``claims``, ``certs`` (no → class), ``denials``
``claim``      ``lines`` ([labourer, amount, certificate, employment]), ``payments``,
               ``approvals`` ([date, seq]), ``denied`` (its labourers a visit found denying)
``certificate`` ``cites`` ([claim, kind, labourer])
``employment`` ``claims`` (employer claims citing it), ``months`` (payroll month → seq)
``account``    ``pays`` (payment → [labourer, seq]) for living-allowance payments
``fund``       ``moves`` (allocation and adjustment seqs)
``fp``         id_fingerprint → [[labourer, date, seq]]
``standards``  "" → every SubsidyStandardSet body with its seq
``due``        YYYY-MM → {date: [claims]}: when an approved claim turns stale
``pending``    anomaly id → dispositions recorded before the flag was raised
=============  ==========================================================================

Every subject's value also holds ``sup`` (see :mod:`projections.anomalies.engine`). Rows are keyed
``"space/id"``. Composite-key read models (trainees, class-days, payroll) are not looked up here:
what the rules need of them is kept above.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from projections import tables as T
from projections.anomalies import tables as A
from projections.anomalies.engine import Ctx, add_days
from projections.events import LeafEvent

Key = tuple[Any, ...]


def _add(items: list[Any], item: Any) -> None:
    if item not in items:
        items.append(item)


# --- upkeep per event type ---------------------------------------------------------------------------
def laborer_registered(ctx: Ctx) -> None:
    b = ctx.body
    ctx.keep("fp", b["id_fingerprint"], list).append([b["laborer_id"], ctx.ev.business_date, ctx.seq])


def standard_set(ctx: Ctx) -> None:
    ctx.keep("standards", "", list).append(dict(ctx.body, seq=ctx.seq))


def trainee_enrolled(ctx: Ctx) -> None:
    class_id, laborer_id = ctx.body["class_id"], ctx.body["laborer_id"]
    klass = ctx.keep("class", class_id)
    klass.setdefault("roster", {})[laborer_id] = ctx.seq
    klass.setdefault("out", {}).pop(laborer_id, None)
    klass.setdefault("entries", {}).setdefault(ctx.ev.business_date, []).append(ctx.seq)
    row = ctx.klass(class_id)
    mine = ctx.keep("laborer", laborer_id).setdefault("classes", {})
    if class_id not in mine and row is not None:
        mine[class_id] = [ctx.seq, row["institution"], int(row["planned_start"][:4])]


def trainee_withdrawn(ctx: Ctx) -> None:
    klass = ctx.keep("class", ctx.body["class_id"])
    klass.setdefault("roster", {}).pop(ctx.body["laborer_id"], None)
    klass.setdefault("out", {})[ctx.body["laborer_id"]] = [ctx.ev.business_date, ctx.seq]


def attendance_recorded(ctx: Ctx) -> None:
    """Keep the day's list; tell the rules who joined and who left it (a day recorded again)."""
    b = ctx.body
    class_id, date = b["class_id"], b["date"]
    names = sorted({t["laborer_id"] for t in b["trainees"]})
    theory = sum(t["theory_hours"] for t in b["trainees"])
    practical = sum(t["practical_hours"] for t in b["trainees"])
    hours = max((t["theory_hours"] + t["practical_hours"] for t in b["trainees"]), default=0)
    day = ctx.keep("cday", f"{class_id}|{date}", list)
    old = list(day[1]) if day else []
    old_tp = (day[2], day[3]) if day else (0, 0)
    day[:] = [ctx.seq, names, theory, practical, hours]
    klass = ctx.keep("class", class_id)
    attended = klass.setdefault("att", {})
    for laborer_id in set(names) - set(old):
        attended[laborer_id] = attended.get(laborer_id, 0) + 1
    for laborer_id in set(old) - set(names):
        attended[laborer_id] -= 1
    klass.setdefault("entries", {}).setdefault(date, []).append(ctx.seq)
    days = klass.setdefault("days", [])
    if date not in days:
        days.append(date)
        days.sort()
    tp = klass.setdefault("tp", [0, 0])
    tp[0] += theory - old_tp[0]
    tp[1] += practical - old_tp[1]
    left = sorted(set(old) - set(names))
    for laborer_id in names:
        dates = ctx.keep("laborer", laborer_id).setdefault("att", {}).setdefault(class_id, [])
        at = bisect_left(dates, date)
        if at == len(dates) or dates[at] != date:
            dates.insert(at, date)
    for laborer_id in left:
        dates = ctx.keep("laborer", laborer_id).setdefault("att", {}).get(class_id, [])
        if date in dates:
            dates.remove(date)
    ctx.scratch["left"] = left
    ctx.scratch["names"] = names


def inspection_recorded(ctx: Ctx) -> None:
    b = ctx.body
    class_id = class_of_inspection(b)
    if class_id is not None:
        ctx.keep("class", class_id).setdefault("insp", {})[b["inspection_id"]] = [
            ctx.seq, ctx.ev.actor, b["method"], b["date"], b["verdict"]]  # fmt: skip
    for laborer_id in denied(b):
        _add(ctx.keep("laborer", laborer_id).setdefault("denials", []), ctx.seq)
        for claim_id in (ctx.state("laborer", laborer_id) or {}).get("claims", []):
            _add(ctx.keep("claim", claim_id).setdefault("denied", []), laborer_id)


DENIALS = ("attendance_denied", "payment_denied")


def denied(body: dict[str, Any]) -> list[str]:
    """Labourers a phone visit or questionnaire found denying attendance or payment."""
    if body["method"] not in ("phone_visit", "questionnaire"):
        return []
    out: list[str] = []
    for finding in body["findings"]:
        if finding.get("code") in DENIALS:
            who = finding.get("laborer_id") or (body["subject_id"] if body["subject_kind"] == "laborer" else None)
            if who is not None and who not in out:
                out.append(who)
    return out


def class_of_inspection(body: dict[str, Any]) -> str | None:
    return body.get("class_id") or (body["subject_id"] if body["subject_kind"] == "class" else None)


def certificate_issued(ctx: Ctx) -> None:
    b = ctx.body
    ctx.keep("laborer", b["laborer_id"]).setdefault("certs", {})[b["certificate_no"]] = b["class_id"]
    _add(ctx.keep("class", b["class_id"]).setdefault("certs", []), b["certificate_no"])


def employment_started(ctx: Ctx) -> None:
    if ctx.body.get("class_id"):
        _add(ctx.keep("class", ctx.body["class_id"]).setdefault("emps", []), ctx.body["employment_id"])


def subsidy_claimed(ctx: Ctx) -> None:
    b = ctx.body
    claim_id, kind = b["claim_id"], b["kind"]
    lines = [[ln["laborer_id"], ln["amount_fen"], ln.get("certificate_no"), ln.get("employment_id")]
             for ln in b["lines"]]  # fmt: skip
    claim = ctx.keep("claim", claim_id)
    claim["lines"] = lines
    if b.get("class_id"):
        _add(ctx.keep("class", b["class_id"]).setdefault("claims", []), claim_id)
    for laborer_id, _, cert, employment in lines:
        mine = ctx.keep("laborer", laborer_id)
        _add(mine.setdefault("claims", []), claim_id)
        if mine.get("denials"):
            _add(claim.setdefault("denied", []), laborer_id)
        if cert is not None:
            _add(ctx.keep("certificate", cert).setdefault("cites", []), [claim_id, kind, laborer_id])
        if employment is not None:
            _add(ctx.keep("employment", employment).setdefault("claims", []), claim_id)


def claim_approved(ctx: Ctx) -> None:
    ctx.keep("claim", ctx.body["claim_id"]).setdefault("approvals", []).append([ctx.ev.business_date, ctx.seq])
    claim = ctx.claim(ctx.body["claim_id"])
    if claim is not None and claim["approved_date"] is not None:
        due = add_days(claim["approved_date"], ctx.cfg.stale_claim_days + 1)
        _add(ctx.keep("due", due[:7]).setdefault(due, []), claim["claim_id"])
        index = ctx.keep("due", "months").setdefault("months", [])
        if due[:7] not in index:
            insort(index, due[:7])


def payment_disbursed(ctx: Ctx) -> None:
    b = ctx.body
    _add(ctx.keep("claim", b["claim_id"]).setdefault("payments", []), b["payment_id"])
    claim = ctx.claim(b["claim_id"])
    if claim is not None and claim["kind"] == "living_allowance" and claim["sole_laborer_id"] is not None:
        ctx.keep("account", b["payee_account"]).setdefault("pays", {})[b["payment_id"]] = [
            claim["sole_laborer_id"], ctx.seq]  # fmt: skip


def payroll_recorded(ctx: Ctx) -> None:
    ctx.keep("employment", ctx.body["employment_id"]).setdefault("months", {})[ctx.body["month"]] = ctx.seq


def fund_moved(ctx: Ctx) -> None:
    ctx.keep("fund", ctx.body["fund_id"]).setdefault("moves", []).append(ctx.seq)


UPKEEP: dict[str, Callable[[Ctx], None]] = {
    "LaborerRegistered": laborer_registered,
    "SubsidyStandardSet": standard_set,
    "TraineeEnrolled": trainee_enrolled,
    "TraineeWithdrawn": trainee_withdrawn,
    "AttendanceRecorded": attendance_recorded,
    "InspectionRecorded": inspection_recorded,
    "CertificateIssued": certificate_issued,
    "EmploymentStarted": employment_started,
    "SubsidyClaimed": subsidy_claimed,
    "ClaimApproved": claim_approved,
    "PaymentDisbursed": payment_disbursed,
    "PayrollRecorded": payroll_recorded,
    "FundAllocated": fund_moved,
    "FundAdjusted": fund_moved,
}


# --- what to load for a batch in a few queries (registry ``reads``) ------------------------------------
def prefetch(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    """The state rows and read-model rows this event's upkeep and rules will look up by key."""
    b = ev.body
    def S(space: str, key: str) -> tuple[sa.Table, Key]:
        return A.state, (f"{space}/{key}",)

    laborers: list[str] = []
    if "laborer_id" in b:
        laborers.append(b["laborer_id"])
    for item in b.get("trainees") or b.get("lines") or ():
        laborers.append(item["laborer_id"])
    laborers += b.get("rejected_laborers", ())
    if ev.type == "InspectionRecorded":
        laborers += denied(b)
    for laborer_id in dict.fromkeys(laborers):
        yield S("laborer", laborer_id)
        yield T.laborers, (laborer_id,)
    class_id = b.get("class_id")
    if ev.type == "InspectionRecorded":
        class_id = class_of_inspection(b)
    if class_id:
        yield S("class", class_id)
        yield T.classes, (class_id,)
        if "date" in b:
            yield S("cday", f"{class_id}|{b['date']}")
    for name, space, table in (("claim_id", "claim", T.claims), ("payment_id", "payment", T.payments),
                               ("fund_id", "fund", T.funds), ("employment_id", "employment", T.employments),
                               ("certificate_no", "certificate", T.certificates),
                               ("actor_id", "actor", T.actors), ("key_id", "key", T.keys)):  # fmt: skip
        if b.get(name):
            yield S(space, b[name])
            yield table, (b[name],)
    for line in b.get("lines", ()):
        if line.get("certificate_no"):
            yield S("certificate", line["certificate_no"])
            yield T.certificates, (line["certificate_no"],)
        if line.get("employment_id"):
            yield S("employment", line["employment_id"])
            yield T.employments, (line["employment_id"],)
    if b.get("payee_account"):
        yield S("account", b["payee_account"])
    if ev.type == "LaborerRegistered":
        yield S("fp", b["id_fingerprint"])
    if ev.type == "AnomalyDisposed":
        yield A.anomalies, (b["anomaly_id"],)
    yield S("standards", "")
    yield S("meta", "clock")
