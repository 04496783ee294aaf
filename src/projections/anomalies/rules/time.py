"""TIME — timeliness: records signed late, certificates early, payments on holidays, money left waiting,
and signatures made after their key's revocation took effect."""

from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from ledger.domain import holidays
from projections import tables as T
from projections.anomalies.engine import (
    NONE,
    Ctx,
    Finding,
    Findings,
    Subject,
    add_days,
    days_between,
    rule,
    shanghai_date,
)
from projections.anomalies.reads import class_days, is_approved, is_paid
from projections.anomalies.state import CLASSES, DUE, META, class_of_inspection
from projections.anomalies.triggers import (
    CERTIFICATE,
    CLASS_ATTENDANCE,
    CLOCK,
    INSPECTION,
    KEY_REVOCATION,
    PAYMENT,
    PAYROLL,
    itself,
    money,
    via,
)


def backdated_subject(ctx: Ctx) -> Iterator[Subject]:
    b = ctx.body
    if ctx.ev.type == "PayrollRecorded":
        yield Subject("employment", b["employment_id"], str(ctx.seq))
    else:
        class_id = b["class_id"] if ctx.ev.type == "AttendanceRecorded" else class_of_inspection(ctx.ev)
        if class_id is not None:
            yield Subject("class", class_id, str(ctx.seq))


@rule("TIME-BACKDATED", severity="medium", subject=("class", "employment"), source="timeliness",
      zh="{what}（业务日期 {date}）于 {signed} 才签名，晚了 {late} 天（超过 {limit} 天，补录）；共 {n} 条",
      en="{what_en} dated {date} was signed on {signed}, {late} days later (more than {limit}); {n} record(s) in all",
      reads={CLASS_ATTENDANCE: via(backdated_subject), INSPECTION: via(backdated_subject),
             PAYROLL: via(backdated_subject)})  # fmt: skip
def backdated(ctx: Ctx, s: Subject) -> Findings:
    if s.part != str(ctx.seq):  # judged once, by the event itself: a late signature is never cured
        return NONE
    b = ctx.body
    if ctx.ev.type == "PayrollRecorded":
        y, m = int(b["month"][:4]), int(b["month"][5:7])
        date = f"{b['month']}-{calendar.monthrange(y, m)[1]:02d}"  # no date arithmetic: 9999-12 has no next month
        what, what_en = f"就业记录 {s.id} 的 {b['month']} 工资表", f"payroll of {b['month']} for employment {s.id}"
    else:
        date = b["date"]
        kind = "考勤" if ctx.ev.type == "AttendanceRecorded" else "检查记录"
        what, what_en = f"培训班 {s.id} 的{kind}", f"the {'attendance' if kind == '考勤' else 'inspection'} of class {s.id}"
    signed = shanghai_date(ctx.ev.envelope["at"])
    late = days_between(date, signed)
    if late <= ctx.cfg.backdated_days:
        return NONE
    return {None: Finding([ctx.seq], {"what": what, "what_en": what_en, "date": date, "signed": signed,
                                      "late": late, "limit": ctx.cfg.backdated_days})}  # fmt: skip


def certificates_of_class(ctx: Ctx) -> Iterator[Subject]:
    for number in ctx.read(CLASSES, ctx.body["class_id"]).get("certs", []):
        yield Subject("certificate", number)


@rule("TIME-CERT-BEFORE-END", severity="high", subject="certificate", source="§3",
      zh="证书 {certificate}（{laborer}）发证日期 {issued} 早于培训班 {class_id} 最后考勤日 {last}（提前发证）",
      en="certificate {certificate} ({laborer}) was issued on {issued}, before class {class_id}'s last attendance day {last}",
      reads={CERTIFICATE: itself("certificate"), CLASS_ATTENDANCE: via(certificates_of_class)})  # fmt: skip
def certificate_before_end(ctx: Ctx, s: Subject) -> Findings:
    cert = ctx.row(T.certificates, s.id)
    if cert is None or cert["revoked_seq"] is not None:
        return NONE
    klass = ctx.klass(cert["class_id"])
    if klass is None or klass["last_attendance"] is None or cert["issued_on"] >= klass["last_attendance"]:
        return NONE
    # every class-day after the issue date (not only the last one seen so far): the same in any order
    after = class_days(ctx, klass["class_id"], cert["issued_on"])
    return {cert["laborer_id"]: Finding([cert["seq"]] + [day.seq for day in after], {
        "certificate": s.id, "laborer": cert["laborer_id"], "issued": cert["issued_on"],
        "class_id": klass["class_id"], "last": klass["last_attendance"]})}  # fmt: skip


@rule("TIME-WEEKEND-PAYMENT", severity="low", subject="payment", source="posting-date test",
      zh="拨付 {payment} 的起息日 {value_date} 是{what}，不是工作日",
      en="payment {payment} has value date {value_date}, a {what_en}, not a working day",
      reads={PAYMENT: itself("payment")})  # fmt: skip
def weekend_payment(ctx: Ctx, s: Subject) -> Findings:
    payment = ctx.row(T.payments, s.id)
    if payment is None:
        return NONE
    day = dt.date.fromisoformat(payment["value_date"])
    if not holidays.covers(day) or holidays.is_working_day(day):
        return NONE
    name = holidays.holiday_name(day)
    return {None: Finding([payment["seq"]], {"payment": s.id, "value_date": payment["value_date"],
                                             "what": f"法定节假日（{name}）" if name else "周末",
                                             "what_en": "public holiday" if name else "weekend"})}  # fmt: skip


def stale_due(ctx: Ctx) -> Iterator[Subject]:
    """Claims whose 90 days ran out between the last clock this rule saw and the clock now.

    It walks the months that hold a due date (the ``due/months`` index), never the calendar
    between two clocks: an event dated far ahead moves the clock, and no loop may be driven by a
    date an event carries (issue 12: a month loop once compared ``"10000-01" <= "9999-12"``).
    """
    now = ctx.clock
    seen = ctx.read(META, "clock").get("stale")
    if now is None or seen == now:
        return
    ctx.keep(META, "clock")["stale"] = now
    if seen is None or now < seen:
        return
    months = ctx.read(DUE, "months").get("months", [])
    for month in months[bisect_left(months, seen[:7]) : bisect_right(months, now[:7])]:
        for due, claim_ids in sorted(ctx.read(DUE, month).items()):
            if seen < due <= now:
                for claim_id in claim_ids:
                    yield Subject("claim", claim_id)


@rule("TIME-STALE-CLAIM", severity="medium", subject="claim", source="backlog",
      zh="补贴申请 {claim} 于 {approved} 审核通过，超过 {limit} 天（至 {due}）仍未拨付（资金滞留）",
      en="claim {claim} was approved on {approved} and is still unpaid more than {limit} days later ({due})",
      reads={**money(itself("claim")), CLOCK: via(stale_due)})  # fmt: skip
def stale_claim(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    now = ctx.clock
    if claim is None or now is None or not is_approved(claim) or is_paid(claim):
        return NONE
    days = days_between(claim["approved_date"], now)
    if days <= ctx.cfg.stale_claim_days:
        return NONE
    return {None: Finding([claim["claimed_seq"], claim["approved_seq"]], {
        "claim": s.id, "approved": claim["approved_date"], "limit": ctx.cfg.stale_claim_days,
        "due": add_days(claim["approved_date"], ctx.cfg.stale_claim_days + 1)})}  # fmt: skip


def _instant(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


def key_revocation(ctx: Ctx) -> Iterator[Subject]:
    """The actor whose key is revoked, judged for this revocation alone."""
    yield Subject("actor", ctx.body["actor_id"], str(ctx.seq))


@rule("TIME-SIGNED-AFTER-REVOCATION", severity="high", subject="actor", source="key compromise",
      zh="{actor} 的密钥 {key_id} 已被吊销，自 {effective_at} 起作废；此前已记录的 {count} 条记录签名时间晚于该时点",
      en="key {key_id} of {actor} was revoked with effect from {effective_at}; {count} event(s) accepted earlier were signed after that",
      reads={KEY_REVOCATION: via(key_revocation)})  # fmt: skip
def signed_after_revocation(ctx: Ctx, s: Subject) -> Findings:
    if s.part != str(ctx.seq):
        return NONE
    b = ctx.body
    key = ctx.row(T.keys, b["key_id"])
    if key is None or key["actor_id"] != s.id:
        return NONE
    effective = _instant(b["effective_at"])
    until = key["until_seq"] if key["until_seq"] is not None else ctx.seq
    rows = ctx.uow.signed_by(s.id, key["from_seq"], min(until, ctx.seq - 1))
    covered = [seq for seq, at in rows if _instant(at) > effective]
    if not covered:
        return NONE
    return {None: Finding([*covered, ctx.seq], {"actor": s.id, "key_id": b["key_id"], "effective_at": b["effective_at"],
                                               "count": len(covered)})}  # fmt: skip
