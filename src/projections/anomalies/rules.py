"""Every rule of RULES.md: one function each, its id, severity, subject and source beside it.

A rule answers for one subject (and part) with ``{laborer_id or None: Finding(evidence, details)}``
— the empty answer means "nothing wrong here" and withdraws what the subject raised before.
``on`` names the events that make the rule look again and the subjects each of them touches;
the engine calls nothing else, so a rule's cost follows the events that concern it.

Vocabulary (RULES.md "Definitions"): a claim is **live** unless rejected or withdrawn; a line is
**paid** when its claim has payments not returned summing > 0; a claim **stands** when it is
paid or approved (the ``SEQ-PAID-*`` rules judge it at approval, so a critical flag can stop the
payment); the lines a standing claim stands for are its approved lines (amount > 0) once an
approval exists, else the lines claimed. "Before"/"after" compare business dates, ``seq``
breaking ties; "now" is the log clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from ledger.domain import holidays
from projections import tables as T
from projections.anomalies import tables as A
from projections.anomalies.engine import (
    Ctx,
    Finding,
    Findings,
    Subject,
    add_days,
    days_between,
    months_from,
    rule,
    shanghai_date,
)
from projections.anomalies.state import class_of_inspection, denied
from projections.uow import Row

NONE: Findings = {}
KIND_ZH = {"training": "培训", "appraisal": "鉴定", "living_allowance": "生活费", "employer": "用人单位"}
PROCESS_CHECKS = ("site_visit", "spot_check")  # what counts as a process inspection (§4(3))


# =====================================================================================================
# Shared reads
# =====================================================================================================
def is_live(claim: Row) -> bool:
    return claim["status"] not in ("rejected", "withdrawn")


def net_paid(claim: Row) -> int:
    return int(claim["paid_fen"]) - int(claim["returned_fen"])


def is_paid(claim: Row) -> bool:
    return net_paid(claim) > 0


def is_approved(claim: Row) -> bool:
    return claim["approved_seq"] is not None and claim["status"] == "approved"


def stands(claim: Row) -> bool:
    """Paid, or approved: the moment the SEQ-PAID-* rules judge a claim (RULES.md)."""
    return is_paid(claim) or is_approved(claim)


def claim_lines(ctx: Ctx, claim_id: str) -> list[list[Any]]:
    """[labourer, amount, certificate_no, employment_id] as claimed."""
    held = ctx.state("claim", claim_id) or {}
    lines: list[list[Any]] = held.get("lines", [])
    return lines


def standing_lines(ctx: Ctx, claim: Row) -> list[list[Any]]:
    """The lines a standing claim stands for: approved (amount > 0) once approved, else claimed.

    Memoised for the event: every rule judging the claim's lines asks the same question."""
    memo = ctx.scratch.setdefault("standing", {})
    found = memo.get(claim["claim_id"])
    if found is None:
        found = memo[claim["claim_id"]] = _standing_lines(ctx, claim)
    return found  # type: ignore[no-any-return]


def standing_line(ctx: Ctx, claim: Row, laborer_id: str) -> list[Any] | None:
    return next((line for line in standing_lines(ctx, claim) if line[0] == laborer_id), None)


def claim_laborers(ctx: Ctx, claim: Row) -> list[str]:
    """Every labourer the claim names: on its lines or on its approval."""
    out = dict.fromkeys(line[0] for line in claim_lines(ctx, claim["claim_id"]))
    out.update(dict.fromkeys(lid for lid, _ in claim["approved_lines"] or ()))
    return list(out)


def _standing_lines(ctx: Ctx, claim: Row) -> list[list[Any]]:
    claimed = claim_lines(ctx, claim["claim_id"])
    if claim["approved_seq"] is None or claim["approved_lines"] is None:
        out = [line for line in claimed if line[1] > 0]
    else:
        first: dict[str, list[Any]] = {}
        for line in claimed:
            first.setdefault(line[0], line)
        out = []
        for laborer_id, amount in claim["approved_lines"]:
            if amount > 0:
                _, _, cert, job = first.get(laborer_id, [laborer_id, 0, None, None])
                out.append([laborer_id, amount, cert, job])
    once: dict[str, list[Any]] = {}
    for line in out:
        once.setdefault(line[0], line)  # a labourer twice on one claim stands once (DUP-* see the rest)
    return list(once.values())


def payments_of(ctx: Ctx, claim_id: str, *, returned: bool = False) -> list[Row]:
    """The claim's payments (in log order); returned ones only if asked."""
    held = ctx.state("claim", claim_id) or {}
    ids = held.get("payments", [])
    if len(ids) > 1:
        ctx.uow.prefetch((T.payments, (p,)) for p in ids)
    rows = [ctx.row(T.payments, p) for p in ids]
    return [p for p in rows if p is not None and (returned or p["returned_seq"] is None)]


def money_evidence(ctx: Ctx, claim: Row) -> list[int]:
    """The claim, its standing approval and its payments not returned (memoised for the event)."""
    memo = ctx.scratch.setdefault("money", {})
    found = memo.get(claim["claim_id"])
    if found is None:
        found = memo[claim["claim_id"]] = _money_evidence(ctx, claim)
    return list(found)


def _money_evidence(ctx: Ctx, claim: Row) -> list[int]:
    out = [claim["claimed_seq"]]
    if claim["approved_seq"] is not None and is_approved(claim):
        out.append(claim["approved_seq"])
    out += [p["seq"] for p in payments_of(ctx, claim["claim_id"])]
    return out


def class_claims(ctx: Ctx, class_id: str, kind: str | None = None) -> list[Row]:
    held = ctx.state("class", class_id) or {}
    ids = held.get("claims", [])
    if len(ids) > 1:
        ctx.uow.prefetch((T.claims, (c,)) for c in ids)
    rows = [ctx.claim(c) for c in ids]
    return [c for c in rows if c is not None and (kind is None or c["kind"] == kind)]


def laborer_claims(ctx: Ctx, laborer_id: str, kind: str | None = None) -> list[Row]:
    held = ctx.state("laborer", laborer_id) or {}
    ids = held.get("claims", [])
    if len(ids) > 1:
        ctx.uow.prefetch((T.claims, (c,)) for c in ids)
    rows = [ctx.claim(c) for c in ids]
    return [c for c in rows if c is not None and (kind is None or c["kind"] == kind)]


def load_lines(ctx: Ctx, claim: Row) -> None:
    """One query per table for what a claim's lines will look up (instead of one per line)."""
    loaded = ctx.scratch.setdefault("loaded", set())
    if claim["claim_id"] in loaded:
        return
    loaded.add(claim["claim_id"])
    lines = claim_lines(ctx, claim["claim_id"])
    if len(lines) < 2:
        return
    wanted: list[tuple[sa.Table, tuple[Any, ...]]] = []
    for laborer_id, _, cert, _ in lines:
        wanted += [(A.state, (f"laborer/{laborer_id}",)), (T.laborers, (laborer_id,))]
        if cert is not None:
            wanted += [(T.certificates, (cert,)), (A.state, (f"certificate/{cert}",))]
    ctx.uow.prefetch(wanted)


def attended(ctx: Ctx, class_id: str, laborer_id: str) -> int:
    """Days the labourer is in the class's current attendance records."""
    return int(((ctx.state("class", class_id) or {}).get("att", {})).get(laborer_id, 0))


def valid_certificates(ctx: Ctx, laborer_id: str, class_id: str | None = None) -> list[Row]:
    """The labourer's certificates not revoked (for one class, or any)."""
    held = ctx.state("laborer", laborer_id) or {}
    out = []
    for number, for_class in sorted(held.get("certs", {}).items()):
        if class_id is None or for_class == class_id:
            cert = ctx.row(T.certificates, number)
            if cert is not None and cert["revoked_seq"] is None:
                out.append(cert)
    return out


def revoked_certificates(ctx: Ctx, laborer_id: str, class_id: str) -> list[Row]:
    held = ctx.state("laborer", laborer_id) or {}
    rows = [ctx.row(T.certificates, n) for n, c in sorted(held.get("certs", {}).items()) if c == class_id]
    return [c for c in rows if c is not None and c["revoked_seq"] is not None]


def age_at(birth: str, day: str) -> int:
    """RULES.md: completed years at the class's planned start."""
    b, d = dt.date.fromisoformat(birth), dt.date.fromisoformat(day)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def class_end(klass: Row) -> str:
    end: str = klass["end_date"] or klass["last_attendance"] or klass["planned_end"]
    return end


def cday(ctx: Ctx, class_id: str, date: str) -> list[Any] | None:
    """[seq, labourers, Σ theory, Σ practical] of the class-day's current attendance record."""
    day: list[Any] | None = ctx.state("cday", f"{class_id}|{date}")
    return day


def inspections_of(ctx: Ctx, class_id: str) -> list[list[Any]]:
    """[inspection_id, seq, actor, method, date, verdict] of every inspection of the class, by seq."""
    held = ctx.state("class", class_id) or {}
    return sorted(([k, *v] for k, v in held.get("insp", {}).items()), key=lambda i: i[1])


# --- subsidy standards (five unifications): the most specific standard in force -------------------------
def standard(ctx: Ctx, kind: str, on: str, *, programme: str | None = None, occupation: str | None = None,
             certificate_type: str | None = None, any_certificate: bool = False) -> dict[str, Any] | None:  # fmt: skip
    """The ``SubsidyStandardSet`` in force on ``on`` for this kind, programme, certificate type and
    occupation; the most specific wins (occupation, then certificate type, then programme), then the
    latest. ``any_certificate``: the highest over all certificate types (FIN-SPLIT-CLAIM)."""
    table = ctx.state("standards", "") or []
    memo = ctx.uow.__dict__.setdefault("_standard_memo", {})
    key = (len(table), kind, on, programme, occupation, certificate_type, any_certificate)
    if key not in memo:
        memo[key] = _standard(table, kind, on, programme, occupation, certificate_type, any_certificate)
    return memo[key]  # type: ignore[no-any-return]


def _standard(table: list[dict[str, Any]], kind: str, on: str, programme: str | None, occupation: str | None,
              certificate_type: str | None, any_certificate: bool) -> dict[str, Any] | None:  # fmt: skip
    best: tuple[Any, ...] | None = None
    found = None
    for s in table:
        if s["kind"] != kind or s["effective_from"] > on or (s.get("effective_to") and s["effective_to"] < on):
            continue
        if s.get("programme") not in (None, programme) or s.get("occupation") not in (None, occupation):
            continue
        if not any_certificate and s.get("certificate_type") not in (None, certificate_type):
            continue
        if any_certificate:
            rank: tuple[Any, ...] = (s["amount_fen"], s.get("occupation") is not None, s["effective_from"], s["seq"])
        else:
            rank = (s.get("occupation") is not None, s.get("certificate_type") is not None,
                    s.get("programme") is not None, s["effective_from"], s["seq"])  # fmt: skip
        if best is None or rank > best:
            best, found = rank, s
    return found


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}" if fen % 100 == 0 else f"{sign}{fen // 100}.{fen % 100:02d}"


# =====================================================================================================
# Triggers: the subjects an event touches
# =====================================================================================================
def _claim_id(ctx: Ctx) -> str | None:
    if "claim_id" in ctx.body:
        return str(ctx.body["claim_id"])
    if ctx.ev.type == "PaymentReturned":
        payment = ctx.row(T.payments, ctx.body["payment_id"])
        return None if payment is None else str(payment["claim_id"])
    return None


def the_claim(ctx: Ctx) -> Iterator[Subject]:
    claim_id = _claim_id(ctx)
    if claim_id is not None:
        yield Subject("claim", claim_id)


def each_line(trigger: Any, *, rule: str | None = None, when: Any = None) -> Any:
    """A claim trigger, judged labourer by labourer: claim + laborer rules settle one line at a
    time, so an event about one labourer (a certificate, a payroll month) costs one line.

    ``when(claim)``: the lines are only worth judging if it holds — or if ``rule`` already holds
    something on the claim, which may now have to be withdrawn."""

    def per_line(ctx: Ctx) -> Iterator[Subject]:
        for s in trigger(ctx):
            claim = ctx.claim(s.id)
            if claim is None or (when is not None and not when(claim) and not supports(ctx, rule, "claim", s.id)):
                continue
            if when is stands and ctx.ev.type in ("PaymentDisbursed", "PaymentReturned") and is_approved(claim):
                # judged line by line at its approval: a payment only grows the flagged lines' evidence
                held = ((ctx.state("claim", s.id) or {}).get("sup", {})).get(rule, {})
                for laborer_id in sorted(held):
                    yield Subject("claim", s.id, laborer_id)
                continue
            load_lines(ctx, claim)
            for laborer_id in claim_laborers(ctx, claim):
                yield Subject("claim", s.id, laborer_id)

    return per_line


def supports(ctx: Ctx, rule_id: str | None, kind: str, ident: str) -> bool:
    """Does ``rule_id`` currently hold anything on this subject?"""
    return bool(((ctx.state(kind, ident) or {}).get("sup", {})).get(rule_id))


def claim_if(*kinds: str) -> Any:
    def trigger(ctx: Ctx) -> Iterator[Subject]:
        claim = ctx.claim(_claim_id(ctx))
        if claim is not None and claim["kind"] in kinds:
            yield Subject("claim", claim["claim_id"])

    return trigger


def class_of_claim(*kinds: str) -> Any:
    def trigger(ctx: Ctx) -> Iterator[Subject]:
        claim = ctx.claim(_claim_id(ctx))
        if claim is not None and claim["class_id"] is not None and (not kinds or claim["kind"] in kinds):
            yield Subject("class", claim["class_id"])

    return trigger


def laborers_of_claim(ctx: Ctx) -> Iterator[Subject]:
    claim = ctx.claim(_claim_id(ctx))
    if claim is not None:
        load_lines(ctx, claim)
        for laborer_id in dict.fromkeys(line[0] for line in claim_lines(ctx, claim["claim_id"])):
            yield Subject("laborer", laborer_id)


def laborers_of_training_claim(ctx: Ctx) -> Iterator[Subject]:
    """Labourers of a training claim whose payment changed (or whose paid lines were re-approved)."""
    claim = ctx.claim(_claim_id(ctx))
    if claim is not None and claim["kind"] == "training" and (ctx.ev.type != "ClaimApproved" or is_paid(claim)):
        yield from laborers_of_claim(ctx)


def the(kind: str, name: str) -> Any:
    def trigger(ctx: Ctx) -> Iterator[Subject]:
        yield Subject(kind, ctx.body[name])

    return trigger


def claims_of_class(kind: str) -> Any:
    def trigger(ctx: Ctx) -> Iterator[Subject]:
        for claim in class_claims(ctx, ctx.body["class_id"], kind):
            yield Subject("claim", claim["claim_id"])

    return trigger


def claims_of_laborer(*kinds: str) -> Any:
    """The labourer's line on each of their claims (of these kinds)."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        for laborer_id in _laborers(ctx):
            for claim in laborer_claims(ctx, laborer_id):
                if not kinds or claim["kind"] in kinds:
                    yield Subject("claim", claim["claim_id"], laborer_id)

    return trigger


def _laborers(ctx: Ctx) -> list[str]:
    b = ctx.body
    if ctx.ev.type == "ClaimIdentityVerified":
        return list(b["rejected_laborers"])
    if ctx.ev.type in ("CertificateIssued", "CertificateRevoked"):
        cert = ctx.row(T.certificates, b["certificate_no"])
        return [] if cert is None else [cert["laborer_id"]]
    return [b["laborer_id"]]


def claims_of_certificate(*kinds: str) -> Any:
    """Claims (of these kinds) citing the certificate's class and labourer, or the certificate."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        cert = ctx.row(T.certificates, ctx.body["certificate_no"])
        if cert is None:
            return
        for claim in laborer_claims(ctx, cert["laborer_id"]):
            if claim["kind"] in kinds and (claim["class_id"] in (None, cert["class_id"])):
                yield Subject("claim", claim["claim_id"], cert["laborer_id"])

    return trigger


CLAIM_DECIDED = ("ClaimApproved", "ClaimRejected", "ClaimWithdrawn")
MONEY = (*CLAIM_DECIDED, "PaymentDisbursed", "PaymentReturned")


def on_money(trigger: Any, types: Iterable[str] = MONEY) -> dict[str, Any]:
    return dict.fromkeys(types, trigger)


def on_liveness(trigger: Any) -> dict[str, Any]:
    """The decisions that can make a claim live or not. An approval only can if the claim was
    rejected or withdrawn before (a later-dated approval revives it)."""

    def revived(ctx: Ctx) -> Iterator[Subject]:
        claim = ctx.claim(_claim_id(ctx))
        if claim is not None and (claim["rejected_seq"] is not None or claim["withdrawn_seq"] is not None):
            yield from trigger(ctx)

    return {"ClaimRejected": trigger, "ClaimWithdrawn": trigger, "ClaimApproved": revived}


# =====================================================================================================
# DUP — duplicates
# =====================================================================================================
def fingerprint_group(ctx: Ctx) -> Iterator[Subject]:
    for laborer_id, _, _ in ctx.state("fp", ctx.body["id_fingerprint"]) or ():
        yield Subject("laborer", laborer_id)


@rule("DUP-LABORER", severity="high", subject="laborer", source="policy §4(5) identity precise; duplicate-key test",
      zh="劳动力 {laborer} 与先登记的 {first} 身份证号相同（指纹一致），重复登记",
      en="labourer {laborer} has the same ID number (fingerprint) as {first}, registered earlier: a duplicate registration",
      on={"LaborerRegistered": fingerprint_group})  # fmt: skip
def duplicate_laborer(ctx: Ctx, s: Subject) -> Findings:
    me = ctx.laborer(s.id)
    if me is None:
        return NONE
    group = sorted(ctx.state("fp", me["id_fingerprint"]) or (), key=lambda r: (r[1], r[2]))
    ids = [r[0] for r in group]
    if s.id not in ids or ids.index(s.id) == 0:
        return NONE
    earlier = group[: ids.index(s.id) + 1]
    return {s.id: Finding([r[2] for r in earlier], {"laborer": s.id, "first": ids[0]})}


def claim_and_siblings(ctx: Ctx) -> Iterator[Subject]:
    """Each line of the claim, and that labourer's line on the other claims of its class and kind."""
    claim = ctx.claim(_claim_id(ctx))
    if claim is None or claim["class_id"] is None:
        return
    load_lines(ctx, claim)
    for laborer_id in dict.fromkeys(line[0] for line in claim_lines(ctx, claim["claim_id"])):
        for other in laborer_claims(ctx, laborer_id, claim["kind"]):
            if other["class_id"] == claim["class_id"]:
                yield Subject("claim", other["claim_id"], laborer_id)


def _order(claim: Row) -> tuple[str, int]:
    return (claim["claimed_date"], claim["claimed_seq"])


@rule("DUP-CLAIM-LINE", severity="critical", subject="claim", source="§4(5) counts precise; duplicate test",
      zh="补贴申请 {claim} 再次申报 {laborer} 在培训班 {class_id} 的{kind_zh}补贴，此前已由 {first} 申报（重复申报）",
      en="claim {claim} claims {laborer} in class {class_id} ({kind}) again, already claimed by {first}",
      on={"SubsidyClaimed": claim_and_siblings, **on_liveness(claim_and_siblings)})  # fmt: skip
def duplicate_claim_line(ctx: Ctx, s: Subject) -> Findings:
    claim, laborer_id = ctx.claim(s.id), s.part
    if claim is None or claim["class_id"] is None or not is_live(claim):
        return NONE
    if not any(line[0] == laborer_id for line in claim_lines(ctx, s.id)):
        return NONE
    rivals = [c for c in laborer_claims(ctx, laborer_id, claim["kind"])
              if c["class_id"] == claim["class_id"] and is_live(c) and _order(c) < _order(claim)]  # fmt: skip
    if not rivals:
        return NONE
    rivals.sort(key=_order)
    return {laborer_id: Finding(
        [c["claimed_seq"] for c in rivals] + [claim["claimed_seq"]],
        {"claim": s.id, "laborer": laborer_id, "class_id": claim["class_id"], "kind": claim["kind"],
         "kind_zh": KIND_ZH.get(claim["kind"], claim["kind"]), "first": rivals[0]["claim_id"]},
    )}  # fmt: skip


def certificates_cited(ctx: Ctx) -> Iterator[Subject]:
    claim = ctx.claim(_claim_id(ctx))
    if claim is None:
        return
    load_lines(ctx, claim)
    for line in claim_lines(ctx, claim["claim_id"]):
        if line[2] is not None:
            yield Subject("certificate", line[2])


@rule("DUP-CERTIFICATE", severity="critical", subject="certificate", source="duplicate test",
      zh="证书 {certificate} 在{kind_zh}补贴申请中被重复引用：{laborers} 人、{claims} 份申请（{claim_ids}）",
      en="certificate {certificate} is cited on live {kind} claim lines for {laborers} labourer(s) in {claims} claim(s) ({claim_ids})",
      on={"SubsidyClaimed": certificates_cited, **on_liveness(certificates_cited),
          "CertificateIssued": the("certificate", "certificate_no")})  # fmt: skip
def duplicate_certificate(ctx: Ctx, s: Subject) -> Findings:
    held = ctx.state("certificate", s.id) or {}
    by_kind: dict[str, list[tuple[Row, str]]] = defaultdict(list)
    for claim_id, kind, laborer_id in held.get("cites", ()):
        claim = ctx.claim(claim_id)
        if claim is not None and is_live(claim):
            by_kind[kind].append((claim, laborer_id))
    for kind in sorted(by_kind):
        cites = by_kind[kind]
        laborers = {lid for _, lid in cites}
        claims = sorted({c["claim_id"] for c, _ in cites})
        if len(laborers) >= 2 or len(claims) >= 2:
            evidence = [c["claimed_seq"] for c, _ in cites]
            cert = ctx.row(T.certificates, s.id)
            if cert is not None:
                evidence.append(cert["seq"])
            return {None: Finding(evidence, {"certificate": s.id, "kind": kind, "kind_zh": KIND_ZH.get(kind, kind),
                                             "laborers": len(laborers),
                                             "claims": len(claims), "claim_ids": ", ".join(claims)})}  # fmt: skip
    return NONE


@rule("DUP-PAYMENT", severity="critical", subject="claim", source="duplicate-payment test",
      zh="补贴申请 {claim} 有 {count} 笔同金额（{amount} 元）、同收款账户的拨付（重复拨付）",
      en="claim {claim} has {count} payments of the same amount ({amount} yuan) to the same payee",
      on=on_money(the_claim, ("PaymentDisbursed", "PaymentReturned")))  # fmt: skip
def duplicate_payment(ctx: Ctx, s: Subject) -> Findings:
    groups: dict[tuple[int, str], list[Row]] = defaultdict(list)
    for p in payments_of(ctx, s.id):
        groups[(p["amount_fen"], p["payee_account"])].append(p)
    for (amount, _), same in sorted(groups.items()):
        if len(same) >= 2:
            return {None: Finding([p["seq"] for p in same], {"claim": s.id, "count": len(same), "amount": yuan(amount)})}
    return NONE


def _training_level(ctx: Ctx, cert_no: str | None) -> str | None:
    cert = None if cert_no is None else ctx.row(T.certificates, cert_no)
    return None if cert is None else cert["level"]


@rule("DUP-REPEAT-TRAINING", severity="high", subject="laborer", source="national: at most three subsidised trainings a year; the same occupation and level once",
      zh="劳动力 {laborer} 重复享受培训补贴：{reason}",
      en="labourer {laborer} was paid for training repeatedly: {reason_en}",
      on={**on_money(laborers_of_training_claim, ("PaymentDisbursed", "PaymentReturned", "ClaimApproved")),
          "CertificateIssued": the("laborer", "laborer_id")})  # fmt: skip
def repeat_training(ctx: Ctx, s: Subject) -> Findings:
    claims = [c for c in laborer_claims(ctx, s.id, "training") if is_paid(c)]
    if len(claims) < 2:  # the common case, decided without looking further
        return NONE
    paid: list[tuple[Row, Row, list[Any]]] = []
    for claim in claims:
        line = next((ln for ln in standing_lines(ctx, claim) if ln[0] == s.id), None)
        klass = ctx.klass(claim["class_id"])
        if line is not None and klass is not None:
            paid.append((claim, klass, line))
    by_skill: dict[tuple[str, str], list[Row]] = defaultdict(list)
    by_year: dict[int, list[Row]] = defaultdict(list)
    for claim, klass, line in paid:
        by_skill[(klass["occupation"], _training_level(ctx, line[2]) or "")].append(claim)
        by_year[int(klass["planned_start"][:4])].append(claim)
    hits: list[Row] = []
    reason = reason_en = ""
    for (occupation, level), claims in sorted(by_skill.items()):
        if len(claims) >= 2:
            hits += claims
            reason = reason or f"同一工种（{occupation}{level and ' ' + level}）两次获补"
            reason_en = reason_en or f"paid twice for one occupation ({occupation}{level and ' ' + level})"
    for year, claims in sorted(by_year.items()):
        if len(claims) > ctx.cfg.trainings_per_year_max:
            hits += claims
            reason = reason or f"{year} 年获补培训 {len(claims)} 次，超过 {ctx.cfg.trainings_per_year_max} 次"
            reason_en = reason_en or f"{len(claims)} paid trainings in {year}, above {ctx.cfg.trainings_per_year_max}"
    if not hits:
        return NONE
    evidence: list[int] = []
    for claim in hits:
        evidence += money_evidence(ctx, claim)
    return {s.id: Finding(evidence, {"laborer": s.id, "reason": reason, "reason_en": reason_en})}


# =====================================================================================================
# SEQ — sequence of duties
# =====================================================================================================
@rule("SEQ-PAID-WITHOUT-APPROVAL", severity="critical", subject="claim", source="§4(5)",
      zh="补贴申请 {claim} 在审核通过前已拨付（拨付日 {value_date}）",
      en="claim {claim} was paid (value date {value_date}) without a prior approval",
      on=on_money(the_claim, ("PaymentDisbursed", "ClaimApproved")))  # fmt: skip
def paid_without_approval(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None:
        return NONE
    approvals = (ctx.state("claim", s.id) or {}).get("approvals", [])
    first = min((d for d, _ in approvals), default=None)
    early = [p for p in payments_of(ctx, s.id, returned=True) if first is None or p["value_date"] < first]
    if not early:
        return NONE
    return {None: Finding([claim["claimed_seq"]] + [p["seq"] for p in early],
                          {"claim": s.id, "value_date": early[0]["value_date"]})}  # fmt: skip


def training_money(rule_id: str) -> dict[str, Any]:
    return on_money(each_line(claim_if("training"), rule=rule_id, when=stands))

def claim_lines_of_attendees(ctx: Ctx) -> Iterator[Subject]:
    """Training claims of the class, for the labourers a (re)recorded day added or dropped."""
    claims = class_claims(ctx, ctx.body["class_id"], "training")
    for laborer_id in [*ctx.scratch.get("names", ()), *ctx.scratch.get("left", ())] if claims else ():
        for claim in claims:
            yield Subject("claim", claim["claim_id"], laborer_id)


@rule("SEQ-PAID-WITHOUT-ATTENDANCE", severity="critical", subject="claim", source="design card; §4(3) attendance in place",
      zh="补贴申请 {claim} 为 {laborer} 申报培训补贴（{stage}），但该学员在培训班 {class_id} 没有任何考勤记录",
      en="claim {claim} ({stage_en}) pays {laborer} for training in class {class_id}, who has no attendance there",
      on={**training_money("SEQ-PAID-WITHOUT-ATTENDANCE"), "AttendanceRecorded": claim_lines_of_attendees})  # fmt: skip
def paid_without_attendance(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or claim["class_id"] is None or not stands(claim):
        return NONE
    if standing_line(ctx, claim, s.part) is None or attended(ctx, claim["class_id"], s.part) > 0:
        return NONE
    return {s.part: Finding(money_evidence(ctx, claim), _stage(claim, s.part))}



def _stage(claim: Row, laborer_id: str | None = None) -> dict[str, Any]:
    paid = is_paid(claim)
    return {"claim": claim["claim_id"], "laborer": laborer_id, "class_id": claim["class_id"],
            "stage": "已拨付" if paid else "已审核待拨付", "stage_en": "paid" if paid else "approved, not yet paid"}  # fmt: skip


@rule("SEQ-PAID-WITHOUT-CERTIFICATE", severity="critical", subject="claim", source="§3, §4(3)",
      zh="补贴申请 {claim} 为 {laborer} 申报培训补贴（{stage}），但该学员没有培训班 {class_id} 的有效证书",
      en="claim {claim} ({stage_en}) pays {laborer} for class {class_id} without a valid certificate of that labourer for it",
      on={**training_money("SEQ-PAID-WITHOUT-CERTIFICATE"), "CertificateIssued": claims_of_certificate("training"),
          "CertificateRevoked": claims_of_certificate("training")})  # fmt: skip
def paid_without_certificate(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or claim["class_id"] is None or not stands(claim):
        return NONE
    if standing_line(ctx, claim, s.part) is None or valid_certificates(ctx, s.part, claim["class_id"]):
        return NONE
    revoked = [c["revoked_seq"] for c in revoked_certificates(ctx, s.part, claim["class_id"])]
    return {s.part: Finding(money_evidence(ctx, claim) + revoked, _stage(claim, s.part))}


@rule("SEQ-PAID-WITHOUT-REVIEW", severity="high", subject="claim", source="§4(3) completion review",
      zh="培训补贴申请 {claim}（{stage}）所属培训班 {class_id} 未经结业审核通过",
      en="training claim {claim} ({stage_en}) is for class {class_id}, which has no approving completion review",
      on={**on_money(claim_if("training")), "CompletionReviewed": claims_of_class("training")})  # fmt: skip
def paid_without_review(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or not stands(claim):
        return NONE
    klass = ctx.klass(claim["class_id"])
    if klass is None or klass["review_approved"]:
        return NONE
    evidence = money_evidence(ctx, claim) + ([klass["review_seq"]] if klass["review_seq"] is not None else [])
    return {None: Finding(evidence, _stage(claim))}


@rule("SEQ-PAID-WITHOUT-IDENTITY", severity="critical", subject="claim", source="§4(5), §5(1)",
      zh="补贴申请 {claim}（{stage}）中的 {laborer} 身份{why}",
      en="claim {claim} ({stage_en}) includes {laborer}, whose identity {why_en}",
      on={**on_money(each_line(the_claim, rule="SEQ-PAID-WITHOUT-IDENTITY", when=stands)),
          "IdentityConfirmed": claims_of_laborer(),
          "IdentityRejected": claims_of_laborer(), "ClaimIdentityVerified": claims_of_laborer()})  # fmt: skip
def paid_without_identity(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or not stands(claim) or standing_line(ctx, claim, s.part) is None:
        return NONE
    person = ctx.laborer(s.part)
    if person is None or person["identity_status"] == "confirmed":
        return NONE
    rejected = person["identity_status"] == "rejected"
    evidence = money_evidence(ctx, claim) + [person["registered_seq"]]
    if rejected and person["identity_seq"] is not None:
        evidence.append(person["identity_seq"])
    return {s.part: Finding(evidence, dict(
        _stage(claim, s.part), why="认定已被否定（最近一次认定为不通过）" if rejected else "从未经扶贫部门认定",
        why_en="was rejected by the latest identity decision" if rejected else "was never confirmed"))}  # fmt: skip


def claims_of_employment(ctx: Ctx) -> Iterator[Subject]:
    job = ctx.row(T.employments, ctx.body["employment_id"])
    if job is None:
        return
    for claim_id in (ctx.state("employment", ctx.body["employment_id"]) or {}).get("claims", []):
        yield Subject("claim", claim_id, job["laborer_id"])


@rule("SEQ-EMPLOYER-WITHOUT-SIX-MONTHS", severity="critical", subject="claim", source="§4(4)",
      zh="用人单位补贴申请 {claim}（{stage}）中的 {laborer}：{why}",
      en="employer claim {claim} ({stage_en}) for {laborer}: {why_en}",
      on={**on_money(each_line(claim_if("employer"), rule="SEQ-EMPLOYER-WITHOUT-SIX-MONTHS", when=stands)),
          "CertificateIssued": claims_of_certificate("employer"),
          "CertificateRevoked": claims_of_certificate("employer"), "PayrollRecorded": claims_of_employment})  # fmt: skip
def employer_without_six_months(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "employer" or not stands(claim):
        return NONE
    need = ctx.cfg.employer_months
    out: Findings = {}
    line = standing_line(ctx, claim, s.part)
    for laborer_id, _, _, employment_id in [line] if line is not None else []:
        why: list[str] = []
        why_en: list[str] = []
        evidence = money_evidence(ctx, claim)
        job = None if employment_id is None else ctx.row(T.employments, employment_id)
        if job is not None:
            evidence.append(job["seq"])
            months = list(months_from(job["start_date"][:7], need))
            payroll = (ctx.state("employment", employment_id) or {}).get("months", {})
            rows = [payroll.get(m) for m in months]
            evidence += [seq for seq in rows if seq is not None]
            run = next((i for i, seq in enumerate(rows) if seq is None), need)
            if run < need:
                why.append(f"自 {months[0]} 起连续工资记录仅 {run} 个月，不足 {need} 个月")
                why_en.append(f"only {run} consecutive payroll month(s) from {months[0]}, fewer than {need}")
        else:
            why.append("未指明就业记录")
            why_en.append("no employment record")
        if not valid_certificates(ctx, laborer_id):
            why.append("该劳动力没有有效证书")
            why_en.append("the labourer holds no valid certificate")
        if why:
            out[laborer_id] = Finding(evidence, dict(_stage(claim, laborer_id), why="；".join(why),
                                                     why_en="; ".join(why_en)))  # fmt: skip
    return out


def class_entry_date(ctx: Ctx) -> Iterator[Subject]:
    yield Subject("class", ctx.body["class_id"], ctx.ev.business_date)


def class_entry_dates(ctx: Ctx) -> Iterator[Subject]:
    held = ctx.state("class", ctx.body["class_id"]) or {}
    for date in sorted(held.get("entries", {})):
        yield Subject("class", ctx.body["class_id"], date)


@rule("SEQ-BEFORE-APPROVAL", severity="high", subject="class", source="§4(3) open-class application",
      zh="培训班 {class_id} 在开班审批{approval}前已有报名或考勤（{first} 起，共 {n} 天）",
      en="class {class_id} has enrolments or attendance dated before its opening approval {approval_en} (from {first}, {n} day(s))",
      on={"TraineeEnrolled": class_entry_date, "AttendanceRecorded": class_entry_date,
          "ClassOpeningApproved": class_entry_dates})  # fmt: skip
def before_approval(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    seqs = ((ctx.state("class", s.id) or {}).get("entries", {})).get(s.part, [])
    if klass is None or not seqs:
        return NONE
    approved = klass["approved_date"]
    if approved is not None and s.part >= approved:
        return NONE
    evidence = list(seqs) + ([klass["approved_seq"]] if klass["approved_seq"] is not None else [])
    return {None: Finding(evidence, {"class_id": s.id, "first": s.part,
                                     "approval": f"（{approved}）" if approved else "（尚未审批）",
                                     "approval_en": f"of {approved}" if approved else "(none yet)"})}  # fmt: skip


# =====================================================================================================
# STD — class standards (policy §4(3), five unifications)
# =====================================================================================================
@rule("STD-CLASS-SIZE", severity="high", subject="class", source="§4(3)",
      zh="培训班 {class_id} 在册学员 {enrolled} 人，超过每班 {limit} 人上限",
      en="class {class_id} has {enrolled} trainees enrolled and not withdrawn, above the limit of {limit}",
      on={"TraineeEnrolled": the("class", "class_id"), "TraineeWithdrawn": the("class", "class_id")})  # fmt: skip
def class_size(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    limit = ctx.cfg.class_size_max
    if klass is None or klass["enrolled"] <= limit:
        return NONE
    roster = (ctx.state("class", s.id) or {}).get("roster", {})
    return {None: Finding([klass["requested_seq"], *roster.values()],
                          {"class_id": s.id, "enrolled": klass["enrolled"], "limit": limit})}  # fmt: skip


def class_if_completed(ctx: Ctx) -> Iterator[Subject]:
    klass = ctx.klass(ctx.body["class_id"])
    if klass is not None and klass["completed_seq"] is not None:
        yield Subject("class", ctx.body["class_id"])


@rule("STD-DURATION", severity="medium", subject="class", source="§4(3)",
      zh="培训班 {class_id} 培训周期 {span} 天（{first} 至 {last}），不在 {low}–{high} 天标准内",
      en="class {class_id} spans {span} days ({first} to {last}), outside the standard {low}–{high} days",
      on={"ClassCompleted": the("class", "class_id"), "AttendanceRecorded": class_if_completed})  # fmt: skip
def duration(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    cfg = ctx.cfg
    if klass is None or klass["programme"] not in cfg.duration_programmes or klass["completed_seq"] is None:
        return NONE
    first, last = klass["first_attendance"], klass["last_attendance"]
    if first is None or last is None:
        return NONE
    span = days_between(first, last) + 1
    if cfg.duration_min_days <= span <= cfg.duration_max_days:
        return NONE
    evidence = [klass["completed_seq"]] + [d[0] for d in (cday(ctx, s.id, first), cday(ctx, s.id, last)) if d]
    return {None: Finding(evidence, {"class_id": s.id, "span": span, "first": first, "last": last,
                                     "low": cfg.duration_min_days, "high": cfg.duration_max_days})}  # fmt: skip


@rule("STD-DAILY-HOURS", severity="medium", subject="class", source="§4(3)",
      zh="培训班 {class_id} 有 {n} 个培训日学时不足 {low} 学时（如 {date} 仅 {hours} 学时）",
      en="class {class_id} has {n} class-day(s) under {low} class-hours (e.g. {date}: {hours})",
      on={"AttendanceRecorded": class_entry_date})  # fmt: skip
def daily_hours(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    if klass is None or klass["programme"] not in ctx.cfg.daily_hours_programmes:
        return NONE
    day = cday(ctx, s.id, s.part)
    if not day or not day[1] or day[4] >= ctx.cfg.daily_hours_min:
        return NONE
    return {None: Finding([day[0]], {"class_id": s.id, "date": s.part, "hours": day[4],
                                     "low": ctx.cfg.daily_hours_min})}  # fmt: skip


@rule("STD-PRACTICAL-SHARE", severity="medium", subject="class", source="§4(3)",
      zh="培训班 {class_id} 实操学时占比 {share}%，低于 {need}（理论 {theory}、实操 {practical} 人·学时）",
      en="class {class_id} has {share}% practical hours, below {need} (theory {theory}, practical {practical} trainee-hours)",
      on={"ClassCompleted": the("class", "class_id"), "AttendanceRecorded": class_if_completed})  # fmt: skip
def practical_share(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    if klass is None or klass["completed_seq"] is None:
        return NONE
    held = ctx.state("class", s.id) or {}
    theory, practical = held.get("tp", [0, 0])
    num, den = ctx.cfg.practical_share
    total = theory + practical
    if total == 0 or den * practical >= num * total:
        return NONE
    days = [cday(ctx, s.id, d) for d in held.get("days", ())]
    evidence = [klass["completed_seq"]] + [d[0] for d in days if d]
    return {None: Finding(evidence, {"class_id": s.id, "share": practical * 100 // total, "need": f"{num}/{den}",
                                     "theory": theory, "practical": practical})}  # fmt: skip


def _certificate_type(ctx: Ctx, cert_no: str | None) -> str | None:
    cert = None if cert_no is None else ctx.row(T.certificates, cert_no)
    return None if cert is None else cert["certificate_type"]


def claims_of_completed_class(ctx: Ctx) -> Iterator[Subject]:
    for claim in class_claims(ctx, ctx.body["class_id"]):
        yield Subject("claim", claim["claim_id"])


def line_standard(ctx: Ctx, claim: Row, laborer_id: str, cert_no: str | None) -> tuple[int, dict[str, Any]] | None:
    """The most a line may claim (fen) and the standard behind it, or None when none is found."""
    klass = ctx.klass(claim["class_id"])
    on = class_end(klass) if klass is not None else claim["claimed_date"]
    found = standard(ctx, claim["kind"], on, programme=None if klass is None else klass["programme"],
                     occupation=None if klass is None else klass["occupation"],
                     certificate_type=_certificate_type(ctx, cert_no))  # fmt: skip
    if found is None:
        return None
    if found["per"] == "day":
        days = 0 if klass is None else attended(ctx, klass["class_id"], laborer_id)
        return found["amount_fen"] * days, found
    return found["amount_fen"], found


def claims_citing(ctx: Ctx) -> Iterator[Subject]:
    held = ctx.state("certificate", ctx.body["certificate_no"]) or {}
    for claim_id, _, laborer_id in held.get("cites", ()):
        yield Subject("claim", claim_id, laborer_id)


def la_lines_of_attendees(ctx: Ctx) -> Iterator[Subject]:
    """Living-allowance claims (paid per day attended) of the labourers a day added or dropped."""
    claims = class_claims(ctx, ctx.body["class_id"], "living_allowance")
    if not claims:
        return
    touched = {*ctx.scratch.get("names", ()), *ctx.scratch.get("left", ())}
    for claim in claims:
        for laborer_id in claim_laborers(ctx, claim):
            if laborer_id in touched:
                yield Subject("claim", claim["claim_id"], laborer_id)


@rule("STD-OVER-STANDARD", severity="high", subject="claim", source="§4(3), five unifications",
      zh="补贴申请 {claim} 中 {laborer} 的{what} {amount} 元，超过标准 {limit} 元（{standard}）",
      en="claim {claim}: the {what_en} for {laborer}, {amount} yuan, is above the standard of {limit} yuan ({standard})",
      on={"SubsidyClaimed": each_line(the_claim), **on_money(each_line(the_claim), CLAIM_DECIDED),
          "CertificateIssued": claims_citing, "ClassCompleted": each_line(claims_of_completed_class),
          "AttendanceRecorded": la_lines_of_attendees})  # fmt: skip
def over_standard(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or not is_live(claim):
        return NONE
    claimed: dict[str, int] = defaultdict(int)
    certs: dict[str, str | None] = {}
    for laborer_id, amount, cert, _ in claim_lines(ctx, s.id):
        if laborer_id == s.part:
            claimed[laborer_id] += amount
            certs.setdefault(laborer_id, cert)
    approved: dict[str, int] = defaultdict(int)
    for laborer_id, amount in (claim["approved_lines"] or []) if claim["approved_seq"] is not None else []:
        if laborer_id == s.part:
            approved[laborer_id] += amount
    out: Findings = {}
    for laborer_id in sorted(set(claimed) | set(approved)):
        found = line_standard(ctx, claim, laborer_id, certs.get(laborer_id))
        if found is None:
            continue
        limit, std = found
        over_claimed = claimed.get(laborer_id, 0) > limit
        over_approved = approved.get(laborer_id, 0) > limit
        if not (over_claimed or over_approved):
            continue
        evidence = [claim["claimed_seq"], std["seq"]] + ([claim["approved_seq"]] if over_approved else [])
        amount = claimed[laborer_id] if over_claimed else approved[laborer_id]
        out[laborer_id] = Finding(evidence, {
            "claim": s.id, "laborer": laborer_id, "amount": yuan(amount), "limit": yuan(limit),
            "standard": std["standard_id"], "what": "申报金额" if over_claimed else "审核金额",
            "what_en": "claimed line" if over_claimed else "approved line"})  # fmt: skip
    return out


@rule("STD-UNAPPRAISED", severity="high", subject="claim", source="§3(2), §4(3)",
      zh="培训补贴申请 {claim} 已拨付 {laborer} 的补贴，但国家职业资格目录内的培训班 {class_id} 该学员仅有培训合格证书（未经鉴定）",
      en="training claim {claim} paid {laborer} for in-catalogue class {class_id}, who holds only a training-completion certificate for it",
      on={**on_money(each_line(claim_if("training"), rule="STD-UNAPPRAISED", when=is_paid),
                     ("PaymentDisbursed", "PaymentReturned", "ClaimApproved")),
          "CertificateIssued": claims_of_certificate("training"), "CertificateRevoked": claims_of_certificate("training")})  # fmt: skip
def unappraised(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or not is_paid(claim):
        return NONE
    klass = ctx.klass(claim["class_id"])
    if klass is None or not klass["in_catalog"] or standing_line(ctx, claim, s.part) is None:
        return NONE
    certs = valid_certificates(ctx, s.part, klass["class_id"])
    if not certs or any(c["certificate_type"] != "training_completion" for c in certs):
        return NONE
    return {s.part: Finding(money_evidence(ctx, claim) + [c["seq"] for c in certs],
                            {"claim": s.id, "laborer": s.part, "class_id": klass["class_id"]})}  # fmt: skip


# =====================================================================================================
# ELIG — eligibility
# =====================================================================================================
def enrolee(ctx: Ctx) -> Iterator[Subject]:
    yield Subject("class", ctx.body["class_id"], ctx.body["laborer_id"])


def enrolments_of_laborer(ctx: Ctx) -> Iterator[Subject]:
    held = ctx.state("laborer", ctx.body["laborer_id"]) or {}
    for class_id in sorted(held.get("classes", {})):
        yield Subject("class", class_id, ctx.body["laborer_id"])


ENROLEE = {"TraineeEnrolled": enrolee, "TraineeWithdrawn": enrolee, "LaborerCorrected": enrolments_of_laborer}


def _age_finding(ctx: Ctx, s: Subject) -> tuple[Row, int, Row, int] | None:
    """(class, enrolment seq, labourer, age at planned start) of an active enrolee, or None."""
    klass = ctx.klass(s.id)
    enrolled = ((ctx.state("class", s.id) or {}).get("roster", {})).get(s.part)
    person = ctx.laborer(s.part)
    if klass is None or enrolled is None or person is None:
        return None
    return klass, enrolled, person, age_at(person["birth_date"], klass["planned_start"])


def _age_evidence(klass: Row, enrolled: int, person: Row) -> list[int]:
    out = [klass["requested_seq"], person["registered_seq"], enrolled]
    return out + ([person["corrected_seq"]] if person["corrected_seq"] is not None else [])


@rule("ELIG-DRIVER-AGE", severity="high", subject="class", source="§3(3)",
      zh="机动车驾驶员培训班 {class_id} 学员 {laborer} 开班时 {age} 岁，须在 {limit} 岁以下",
      en="driver class {class_id}: trainee {laborer} is {age} at the planned start; drivers must be under {limit}",
      on=ENROLEE)  # fmt: skip
def driver_age(ctx: Ctx, s: Subject) -> Findings:
    found = _age_finding(ctx, s)
    if found is None:
        return NONE
    klass, enrolled, person, age = found
    if klass["programme"] != "driver" or age < ctx.cfg.driver_age_limit:
        return NONE
    return {s.part: Finding(_age_evidence(klass, enrolled, person),
                            {"class_id": s.id, "laborer": s.part, "age": age, "limit": ctx.cfg.driver_age_limit})}


@rule("ELIG-AGE-RANGE", severity="medium", subject="class", source="NX: ages 16–60",
      zh="培训班 {class_id} 学员 {laborer} 开班时 {age} 岁，不在 {low}–{high} 岁范围内",
      en="class {class_id}: trainee {laborer} is {age} at the planned start, outside ages {low}–{high}",
      on=ENROLEE)  # fmt: skip
def age_range(ctx: Ctx, s: Subject) -> Findings:
    found = _age_finding(ctx, s)
    if found is None:
        return NONE
    klass, enrolled, person, age = found
    if ctx.cfg.age_min <= age <= ctx.cfg.age_max:
        return NONE
    return {s.part: Finding(_age_evidence(klass, enrolled, person),
                            {"class_id": s.id, "laborer": s.part, "age": age, "low": ctx.cfg.age_min,
                             "high": ctx.cfg.age_max})}  # fmt: skip


@rule("ELIG-NOT-POOR", severity="high", subject="claim", source="§2",
      zh="补贴申请 {claim} 从仅限贫困劳动力使用的资金 {fund} 中为非建档立卡劳动力 {laborer} 拨付补贴",
      en="claim {claim} paid non-poor labourer {laborer} from fund {fund}, which is for poor labourers only",
      on={**on_money(each_line(the_claim, rule="ELIG-NOT-POOR", when=is_paid),
                     ("PaymentDisbursed", "PaymentReturned", "ClaimApproved")),
          "LaborerCorrected": claims_of_laborer()})  # fmt: skip
def not_poor(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    person = ctx.laborer(s.part)
    if claim is None or person is None or person["category"] != "non_poor":
        return NONE
    if standing_line(ctx, claim, s.part) is None:
        return NONE
    poverty = []
    for p in payments_of(ctx, s.id):
        fund = ctx.row(T.funds, p["fund_id"])
        if fund is not None and fund["poverty_only"]:
            poverty.append(p)
    if not poverty:
        return NONE
    evidence = [person["registered_seq"], claim["claimed_seq"]] + [p["seq"] for p in poverty]
    if person["corrected_seq"] is not None:
        evidence.append(person["corrected_seq"])
    return {s.part: Finding(evidence, {"claim": s.id, "laborer": s.part, "fund": poverty[0]["fund_id"]})}


# =====================================================================================================
# CONF — conflicting facts
# =====================================================================================================
def inspected_day(ctx: Ctx) -> Iterator[Subject]:
    """The class-day an inspection or an attendance record is about (when the day was inspected)."""
    if ctx.ev.type == "InspectionRecorded":
        class_id = class_of_inspection(ctx.body)
        if class_id is not None and ctx.body["method"] in PROCESS_CHECKS:
            yield Subject("class", class_id, ctx.body["date"])
        return
    date, class_id = ctx.body["date"], ctx.body["class_id"]
    if any(i[4] == date and i[3] in PROCESS_CHECKS for i in inspections_of(ctx, class_id)):
        yield Subject("class", class_id, date)


INSPECTED_DAY = {"InspectionRecorded": inspected_day, "AttendanceRecorded": inspected_day}


def _checks_on(ctx: Ctx, class_id: str, date: str) -> list[tuple[list[Any], Row]]:
    out = []
    for i in inspections_of(ctx, class_id):
        if i[4] == date and i[3] in PROCESS_CHECKS:
            row = ctx.row(T.inspections, i[0])
            if row is not None:
                out.append((i, row))
    return out


@rule("CONF-INSPECTION-ABSENT", severity="critical", subject="class", source="§4(5) spot checks",
      zh="培训班 {class_id}：{date} 的现场检查记录 {laborer} 缺勤，当天考勤却记其出勤（代签到）",
      en="class {class_id}: the inspection of {date} listed {laborer} absent, yet that day's attendance lists them",
      on=INSPECTED_DAY)  # fmt: skip
def inspection_absent(ctx: Ctx, s: Subject) -> Findings:
    day = cday(ctx, s.id, s.part)
    if not day:
        return NONE
    present = set(day[1])
    out: Findings = {}
    for i, row in _checks_on(ctx, s.id, s.part):
        for laborer_id in sorted(set(row["absent"]) & present):
            found = out.setdefault(laborer_id, Finding([], {"class_id": s.id, "date": s.part, "laborer": laborer_id}))
            found.evidence = [*found.evidence, i[1], day[0]]
    return out


@rule("CONF-HEADCOUNT", severity="high", subject="class", source="§4(5)",
      zh="培训班 {class_id}：{date} 现场检查实到 {found} 人，当天考勤登记 {listed} 人",
      en="class {class_id}: the inspection of {date} found {found} present; that day's attendance lists {listed}",
      on=INSPECTED_DAY)  # fmt: skip
def headcount(ctx: Ctx, s: Subject) -> Findings:
    day = cday(ctx, s.id, s.part)
    if not day:
        return NONE
    listed = len(day[1])
    short = [(i, row) for i, row in _checks_on(ctx, s.id, s.part) if len(set(row["present"])) < listed]
    if not short:
        return NONE
    found = min(len(set(row["present"])) for _, row in short)
    return {None: Finding([i[1] for i, _ in short] + [day[0]],
                          {"class_id": s.id, "date": s.part, "found": found, "listed": listed})}  # fmt: skip


def classes_on(ctx: Ctx, laborer_id: str, date: str) -> list[str]:
    """The classes whose current attendance lists the labourer on ``date``."""
    att = (ctx.state("laborer", laborer_id) or {}).get("att", {})
    out = []
    for class_id in sorted(att):
        dates = att[class_id]
        at = bisect_left(dates, date)
        if at < len(dates) and dates[at] == date:
            out.append(class_id)
    return out


def attendees(ctx: Ctx) -> Iterator[Subject]:
    """Labourers of the (re)recorded day who are in two classes that day, or were (a cure)."""
    date = ctx.body["date"]
    for laborer_id in [*ctx.scratch.get("names", ()), *ctx.scratch.get("left", ())]:
        held = ctx.state("laborer", laborer_id) or {}
        if len(held.get("att", {})) >= 2 or date in held.get("sup", {}).get("CONF-DOUBLE-PRESENCE", ()):
            yield Subject("laborer", laborer_id, date)


@rule("CONF-DOUBLE-PRESENCE", severity="high", subject="laborer", source="overlap test",
      zh="劳动力 {laborer} 于 {date} 同时出现在 {classes} 的考勤中（共 {n} 天）",
      en="labourer {laborer} is in the attendance of {classes} on {date} ({n} day(s) in all)",
      on={"AttendanceRecorded": attendees})  # fmt: skip
def double_presence(ctx: Ctx, s: Subject) -> Findings:
    classes = classes_on(ctx, s.id, s.part)
    if len(classes) < 2:
        return NONE
    days = [cday(ctx, class_id, s.part) for class_id in classes]
    return {s.id: Finding([d[0] for d in days if d], {"laborer": s.id, "date": s.part, "classes": "、".join(classes)})}


def _withdrawn(ctx: Ctx, class_id: str) -> dict[str, list[Any]]:
    """Labourers whose latest move in the class is a withdrawal → [date, seq] of it."""
    return dict((ctx.state("class", class_id) or {}).get("out", {}))


def withdrawn_attendees(ctx: Ctx) -> Iterator[Subject]:
    class_id = ctx.body["class_id"]
    out = _withdrawn(ctx, class_id)
    for laborer_id in [*ctx.scratch.get("names", ()), *ctx.scratch.get("left", ())]:
        if laborer_id in out:
            yield Subject("class", class_id, laborer_id)


def claim_laborers_in_class(ctx: Ctx) -> Iterator[Subject]:
    claim = ctx.claim(_claim_id(ctx))
    if claim is None or claim["class_id"] is None:
        return
    out = _withdrawn(ctx, claim["class_id"])
    for laborer_id in dict.fromkeys(line[0] for line in claim_lines(ctx, claim["claim_id"])):
        if laborer_id in out:
            yield Subject("class", claim["class_id"], laborer_id)


@rule("CONF-AFTER-WITHDRAWAL", severity="high", subject="class", source="§4(3)",
      zh="劳动力 {laborer} 已于 {withdrawn} 退出培训班 {class_id}，此后仍有{what}",
      en="labourer {laborer} withdrew from class {class_id} on {withdrawn}, yet has {what_en} after that",
      on={"AttendanceRecorded": withdrawn_attendees, "TraineeWithdrawn": enrolee, "TraineeEnrolled": enrolee,
          "SubsidyClaimed": claim_laborers_in_class, **on_liveness(claim_laborers_in_class)})  # fmt: skip
def after_withdrawal(ctx: Ctx, s: Subject) -> Findings:
    withdrawal = _withdrawn(ctx, s.id).get(s.part)
    if withdrawal is None:
        return NONE
    cut = (withdrawal[0], withdrawal[1])
    dates = ((ctx.state("laborer", s.part) or {}).get("att", {})).get(s.id, [])
    days = [(date, cday(ctx, s.id, date)) for date in dates if date >= cut[0]]
    days_after = [day[0] for date, day in days if day and (date, day[0]) > cut]
    claimed = [c["claimed_seq"] for c in laborer_claims(ctx, s.part)
               if c["class_id"] == s.id and is_live(c) and (c["claimed_date"], c["claimed_seq"]) > cut]  # fmt: skip
    if not days_after and not claimed:
        return NONE
    what = "、".join(w for w, has in (("考勤记录", days_after), ("补贴申报", claimed)) if has)
    what_en = " and ".join(w for w, has in (("attendance", days_after), ("claim lines", claimed)) if has)
    return {s.part: Finding([withdrawal[1], *days_after, *claimed],
                            {"class_id": s.id, "laborer": s.part, "withdrawn": withdrawal[0],
                             "what": what, "what_en": what_en})}  # fmt: skip


def denying_laborers(ctx: Ctx) -> Iterator[Subject]:
    for laborer_id in denied(ctx.body):
        yield Subject("laborer", laborer_id)


def denying_laborers_of_claim(ctx: Ctx) -> Iterator[Subject]:
    claim_id = _claim_id(ctx)
    if claim_id is None:
        return
    for laborer_id in (ctx.state("claim", claim_id) or {}).get("denied", []):
        yield Subject("laborer", laborer_id)


@rule("CONF-VISIT-DENIAL", severity="high", subject="laborer", source="§4(5) phone visits",
      zh="电话询访或问卷中劳动力 {laborer} 否认参训或领取补贴，而其补贴已拨付（{claims}）",
      en="a phone visit or questionnaire found {laborer} denying attendance or payment, yet their line is paid ({claims})",
      on={"InspectionRecorded": denying_laborers,
          **on_money(denying_laborers_of_claim, ("PaymentDisbursed", "PaymentReturned", "ClaimApproved"))})  # fmt: skip
def visit_denial(ctx: Ctx, s: Subject) -> Findings:
    denials = (ctx.state("laborer", s.id) or {}).get("denials", [])
    if not denials:
        return NONE
    paid = [c for c in laborer_claims(ctx, s.id) if is_paid(c) and any(ln[0] == s.id for ln in standing_lines(ctx, c))]
    if not paid:
        return NONE
    evidence = list(denials)
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {s.id: Finding(evidence, {"laborer": s.id, "claims": ", ".join(c["claim_id"] for c in paid)})}


def order_employments(ctx: Ctx) -> Iterator[Subject]:
    klass = ctx.klass(ctx.body["class_id"])
    if klass is None or klass["first_attendance"] != ctx.body["date"]:
        return
    for employment_id in (ctx.state("class", ctx.body["class_id"]) or {}).get("emps", []):
        yield Subject("employment", employment_id)


@rule("CONF-EMPLOYED-BEFORE-TRAINING", severity="medium", subject="employment", source="audit practice",
      zh="订单培训就业记录 {employment}（{laborer}）在培训班 {class_id} 首次考勤（{first}）之前已有工资记录（{months}）",
      en="order-training employment {employment} ({laborer}) has payroll for {months}, before class {class_id}'s first attendance on {first}",
      on={"PayrollRecorded": the("employment", "employment_id"), "EmploymentStarted": the("employment", "employment_id"),
          "AttendanceRecorded": order_employments})  # fmt: skip
def employed_before_training(ctx: Ctx, s: Subject) -> Findings:
    job = ctx.row(T.employments, s.id)
    if job is None or job["class_id"] is None:
        return NONE
    klass = ctx.klass(job["class_id"])
    if klass is None or klass["first_attendance"] is None:
        return NONE
    first = klass["first_attendance"]
    months = (ctx.state("employment", s.id) or {}).get("months", {})
    early = sorted(m for m in months if m < first[:7])
    if not early:
        return NONE
    day = cday(ctx, klass["class_id"], first)
    evidence = [job["seq"], *(months[m] for m in early)] + ([day[0]] if day else [])
    return {job["laborer_id"]: Finding(evidence, {"employment": s.id, "laborer": job["laborer_id"],
                                                  "class_id": klass["class_id"], "first": first,
                                                  "months": "、".join(early)})}  # fmt: skip


# =====================================================================================================
# NET — networks
# =====================================================================================================
def account_of_payment(ctx: Ctx) -> Iterator[Subject]:
    payment = ctx.row(T.payments, ctx.body["payment_id"])
    if payment is not None:
        yield Subject("account", payment["payee_account"])


@rule("NET-SHARED-ACCOUNT", severity="critical", subject="account", source="shared-account test",
      zh="同一收款账户 {account_short}… 收取 {laborers} 名劳动力（{households} 户）的生活费补贴（疑似代领）",
      en="one payee account {account_short}… receives living allowances of {laborers} labourers of {households} households",
      on={"PaymentDisbursed": account_of_payment, "PaymentReturned": account_of_payment})  # fmt: skip
def shared_account(ctx: Ctx, s: Subject) -> Findings:
    pays = (ctx.state("account", s.id) or {}).get("pays", {})
    if len(pays) < ctx.cfg.shared_account_laborers:
        return NONE
    kept = []
    for payment_id, (laborer_id, seq) in sorted(pays.items(), key=lambda kv: kv[1][1]):
        payment = ctx.row(T.payments, payment_id)
        if payment is not None and payment["returned_seq"] is None:
            kept.append((payment, laborer_id, seq))
    laborers = {lid for _, lid, _ in kept}
    households = {p["household_id"] for p in (ctx.laborer(lid) for lid in laborers) if p is not None}
    if len(laborers) < ctx.cfg.shared_account_laborers or len(households) < ctx.cfg.shared_account_households:
        return NONE
    return {None: Finding([seq for _, _, seq in kept], {"account_short": s.id[:12], "laborers": len(laborers),
                                                        "households": len(households)},
                          jurisdiction=kept[0][0]["jurisdiction"])}  # fmt: skip


@rule("NET-RECYCLED-TRAINEE", severity="medium", subject="laborer", source="§4(2)",
      zh="培训机构 {institution} 在 {year} 年让劳动力 {laborer} 参加了 {count} 个培训班（{classes}）（反复培训同一人）",
      en="institution {institution} enrolled labourer {laborer} in {count} classes starting in {year} ({classes})",
      on={"TraineeEnrolled": the("laborer", "laborer_id")})  # fmt: skip
def recycled_trainee(ctx: Ctx, s: Subject) -> Findings:
    classes = (ctx.state("laborer", s.id) or {}).get("classes", {})
    groups: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for class_id, (seq, institution, year) in sorted(classes.items()):
        groups[(institution, year)].append((class_id, seq))
    for (institution, year), found in sorted(groups.items()):
        if len(found) >= ctx.cfg.recycled_classes_per_year:
            return {s.id: Finding([seq for _, seq in found], {
                "laborer": s.id, "institution": institution, "year": year, "count": len(found),
                "classes": "、".join(c for c, _ in found)})}  # fmt: skip
    return NONE


# =====================================================================================================
# SOD — segregation of duties
# =====================================================================================================
@rule("SOD-REVIEWER-ONLY-CHECK", severity="medium", subject="class", source="§4(5) 谁审核、谁监管",
      zh="培训班 {class_id} 的全部检查（{count} 次）均由审核其补贴申请的 {actor} 实施（谁审核、谁监管）",
      en="every inspection of class {class_id} ({count}) was made by {actor}, which also approved its claim",
      on={"InspectionRecorded": lambda ctx: [Subject("class", c) for c in [class_of_inspection(ctx.body)] if c],
          **on_money(class_of_claim("training"), ("PaymentDisbursed", "PaymentReturned", "ClaimApproved"))})  # fmt: skip
def reviewer_only_check(ctx: Ctx, s: Subject) -> Findings:
    checks = inspections_of(ctx, s.id)
    actors = {i[2] for i in checks}
    if len(actors) != 1:
        return NONE
    (actor,) = actors
    paid = [c for c in class_claims(ctx, s.id, "training") if is_paid(c) and c["approver"] == actor]
    if not paid:
        return NONE
    evidence = [i[1] for i in checks]
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {None: Finding(evidence, {"class_id": s.id, "count": len(checks), "actor": actor})}


# =====================================================================================================
# TIME — timeliness
# =====================================================================================================
def backdated_subject(ctx: Ctx) -> Iterator[Subject]:
    b = ctx.body
    if ctx.ev.type == "PayrollRecorded":
        yield Subject("employment", b["employment_id"], str(ctx.seq))
    else:
        class_id = b["class_id"] if ctx.ev.type == "AttendanceRecorded" else class_of_inspection(b)
        if class_id is not None:
            yield Subject("class", class_id, str(ctx.seq))


@rule("TIME-BACKDATED", severity="medium", subject=("class", "employment"), source="timeliness",
      zh="{what}（业务日期 {date}）于 {signed} 才签名，晚了 {late} 天（超过 {limit} 天，补录）；共 {n} 条",
      en="{what_en} dated {date} was signed on {signed}, {late} days later (more than {limit}); {n} record(s) in all",
      on={"AttendanceRecorded": backdated_subject, "InspectionRecorded": backdated_subject,
          "PayrollRecorded": backdated_subject})  # fmt: skip
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
    for number in (ctx.state("class", ctx.body["class_id"]) or {}).get("certs", []):
        yield Subject("certificate", number)


@rule("TIME-CERT-BEFORE-END", severity="high", subject="certificate", source="§3",
      zh="证书 {certificate}（{laborer}）发证日期 {issued} 早于培训班 {class_id} 最后考勤日 {last}（提前发证）",
      en="certificate {certificate} ({laborer}) was issued on {issued}, before class {class_id}'s last attendance day {last}",
      on={"CertificateIssued": the("certificate", "certificate_no"), "CertificateRevoked": the("certificate", "certificate_no"),
          "AttendanceRecorded": certificates_of_class})  # fmt: skip
def certificate_before_end(ctx: Ctx, s: Subject) -> Findings:
    cert = ctx.row(T.certificates, s.id)
    if cert is None or cert["revoked_seq"] is not None:
        return NONE
    klass = ctx.klass(cert["class_id"])
    if klass is None or klass["last_attendance"] is None or cert["issued_on"] >= klass["last_attendance"]:
        return NONE
    day = cday(ctx, klass["class_id"], klass["last_attendance"])
    return {cert["laborer_id"]: Finding([cert["seq"]] + ([day[0]] if day else []), {
        "certificate": s.id, "laborer": cert["laborer_id"], "issued": cert["issued_on"],
        "class_id": klass["class_id"], "last": klass["last_attendance"]})}  # fmt: skip


@rule("TIME-WEEKEND-PAYMENT", severity="low", subject="payment", source="posting-date test",
      zh="拨付 {payment} 的起息日 {value_date} 是{what}，不是工作日",
      en="payment {payment} has value date {value_date}, a {what_en}, not a working day",
      on={"PaymentDisbursed": the("payment", "payment_id")})  # fmt: skip
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
    meta = ctx.state("meta", "clock") or {}
    seen = meta.get("stale")
    if now is None or seen == now:
        return
    ctx.keep("meta", "clock")["stale"] = now
    if seen is None or now < seen:
        return
    months = (ctx.state("due", "months") or {}).get("months", [])
    for month in months[bisect_left(months, seen[:7]) : bisect_right(months, now[:7])]:
        for due, claim_ids in sorted((ctx.state("due", month) or {}).items()):
            if seen < due <= now:
                for claim_id in claim_ids:
                    yield Subject("claim", claim_id)


@rule("TIME-STALE-CLAIM", severity="medium", subject="claim", source="backlog",
      zh="补贴申请 {claim} 于 {approved} 审核通过，超过 {limit} 天（至 {due}）仍未拨付（资金滞留）",
      en="claim {claim} was approved on {approved} and is still unpaid more than {limit} days later ({due})",
      on={**on_money(the_claim), "@clock": stale_due})  # fmt: skip
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


@rule("TIME-SIGNED-AFTER-REVOCATION", severity="high", subject="actor", source="key compromise",
      zh="{actor} 的密钥 {key_id} 已被吊销，自 {effective_at} 起作废；此前已记录的 {count} 条记录签名时间晚于该时点",
      en="key {key_id} of {actor} was revoked with effect from {effective_at}; {count} event(s) accepted earlier were signed after that",
      on={"KeyRevoked": lambda ctx: [Subject("actor", ctx.body["actor_id"], str(ctx.seq))]})  # fmt: skip
def signed_after_revocation(ctx: Ctx, s: Subject) -> Findings:
    if s.part != str(ctx.seq):
        return NONE
    b = ctx.body
    key = ctx.row(T.keys, b["key_id"])
    if key is None or key["actor_id"] != s.id:
        return NONE
    effective = _instant(b["effective_at"])
    until = key["until_seq"] if key["until_seq"] is not None else ctx.seq
    e = T.events.c
    rows: Sequence[Any] = ctx.uow.execute(
        sa.select(e.seq, e.at).where(e.seq >= key["from_seq"], e.seq <= until, e.seq < ctx.seq, e.actor == s.id)
        .order_by(e.seq)
    ).all()  # fmt: skip
    covered = [int(seq) for seq, at in rows if _instant(at) > effective]
    if not covered:
        return NONE
    return {None: Finding([*covered, ctx.seq], {"actor": s.id, "key_id": b["key_id"], "effective_at": b["effective_at"],
                                               "count": len(covered)})}  # fmt: skip


# =====================================================================================================
# FIN — money
# =====================================================================================================
@rule("FIN-OVERPAID", severity="critical", subject="claim", source="§4(5) disbursement precise",
      zh="补贴申请 {claim} 已拨付（扣除退回）{paid} 元，超过审核通过金额 {approved} 元",
      en="claim {claim} was paid {paid} yuan net of returns, above its approved total of {approved} yuan",
      on=on_money(the_claim))  # fmt: skip
def overpaid(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None:
        return NONE
    approved = claim["approved_fen"] if claim["approved_seq"] is not None and is_live(claim) else 0
    if net_paid(claim) <= approved:
        return NONE
    evidence = [p["seq"] for p in payments_of(ctx, s.id)]
    if claim["approved_seq"] is not None:
        evidence.append(claim["approved_seq"])
    return {None: Finding(evidence, {"claim": s.id, "paid": yuan(net_paid(claim)), "approved": yuan(approved)})}


@rule("FIN-APPROVED-OVER-CLAIM", severity="high", subject="claim", source="approval control",
      zh="补贴申请 {claim} 审核通过金额高于申报金额（{where}）",
      en="the approval of claim {claim} is above the amount claimed ({where_en})",
      on={"ClaimApproved": the_claim})  # fmt: skip
def approved_over_claim(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["approved_seq"] is None:
        return NONE
    claimed: dict[str, int] = defaultdict(int)
    for laborer_id, amount, *_ in claim_lines(ctx, s.id):
        claimed[laborer_id] += amount
    approved: dict[str, int] = defaultdict(int)
    for laborer_id, amount in claim["approved_lines"] or ():
        approved[laborer_id] += amount
    where = []
    where_en = []
    if claim["approved_fen"] > claim["claimed_fen"]:
        where.append(f"合计 {yuan(claim['approved_fen'])} 元 > {yuan(claim['claimed_fen'])} 元")
        where_en.append(f"total {yuan(claim['approved_fen'])} > {yuan(claim['claimed_fen'])} yuan")
    for laborer_id in sorted(approved):
        if approved[laborer_id] > claimed.get(laborer_id, 0):
            where.append(f"{laborer_id} {yuan(approved[laborer_id])} 元 > {yuan(claimed.get(laborer_id, 0))} 元")
            where_en.append(f"{laborer_id} {yuan(approved[laborer_id])} > {yuan(claimed.get(laborer_id, 0))} yuan")
    if not where:
        return NONE
    return {None: Finding([claim["claimed_seq"], claim["approved_seq"]],
                          {"claim": s.id, "where": "；".join(where), "where_en": "; ".join(where_en)})}


def fund_of_payment(ctx: Ctx) -> Iterator[Subject]:
    payment = ctx.row(T.payments, ctx.body["payment_id"])
    if payment is not None:
        yield Subject("fund", payment["fund_id"])


@rule("FIN-FUND-OVERDRAWN", severity="critical", subject="fund", source="fund control",
      zh="专项资金 {fund} 拨付（扣除退回）{paid} 元，超过下达及调整后的 {available} 元",
      en="fund {fund} paid out {paid} yuan net of returns, above its allocations and adjustments of {available} yuan",
      on={"PaymentDisbursed": fund_of_payment, "PaymentReturned": fund_of_payment,
          "FundAllocated": the("fund", "fund_id"), "FundAdjusted": the("fund", "fund_id")})  # fmt: skip
def fund_overdrawn(ctx: Ctx, s: Subject) -> Findings:
    fund = ctx.row(T.funds, s.id)
    if fund is None:
        return NONE
    paid = int(fund["paid_fen"]) - int(fund["returned_fen"])
    available = int(fund["allocated_fen"]) + int(fund["adjusted_fen"])
    if paid <= available:
        return NONE
    evidence = list((ctx.state("fund", s.id) or {}).get("moves", []))
    if ctx.ev.type in ("PaymentDisbursed", "PaymentReturned"):
        evidence.append(ctx.seq)
    return {None: Finding(evidence, {"fund": s.id, "paid": yuan(paid), "available": yuan(available)})}


@rule("FIN-FUND-MISMATCH", severity="high", subject="payment", source="fund control",
      zh="拨付 {payment} 使用的资金 {fund} 与补贴申请 {claim} 不符：{why}",
      en="payment {payment} for claim {claim} is from fund {fund}, which does not fit: {why_en}",
      on={"PaymentDisbursed": the("payment", "payment_id")})  # fmt: skip
def fund_mismatch(ctx: Ctx, s: Subject) -> Findings:
    payment = ctx.row(T.payments, s.id)
    if payment is None:
        return NONE
    claim, fund = ctx.claim(payment["claim_id"]), ctx.row(T.funds, payment["fund_id"])
    if claim is None or fund is None:
        return NONE
    why, why_en = [], []
    if fund["purpose"] != claim["kind"]:
        why.append(f"资金用途为{KIND_ZH.get(fund['purpose'], fund['purpose'])}，补贴类别为{KIND_ZH.get(claim['kind'], claim['kind'])}")
        why_en.append(f"fund purpose {fund['purpose']}, claim kind {claim['kind']}")
    code = claim["jurisdiction"]
    if code is not None and not ctx.cfg.jurisdictions.covers(fund["jurisdiction"], code):
        why.append(f"资金属地 {fund['jurisdiction']} 既非申请所属 {code} 也非其上级")
        why_en.append(f"fund jurisdiction {fund['jurisdiction']} is neither {code} nor above it")
    if int(fund["year"]) != int(payment["value_date"][:4]):
        why.append(f"资金年度 {fund['year']} 与起息日 {payment['value_date']} 不在同一年")
        why_en.append(f"fund year {fund['year']} differs from the value date {payment['value_date']}")
    if not why:
        return NONE
    return {None: Finding([payment["seq"], claim["claimed_seq"], fund["first_seq"]], {
        "payment": s.id, "fund": fund["fund_id"], "claim": claim["claim_id"], "why": "；".join(why),
        "why_en": "; ".join(why_en)})}  # fmt: skip


@rule("FIN-PAYEE-MISMATCH", severity="high", subject="payment", source="payee test",
      zh="拨付 {payment} 的收款账户与补贴申请 {claim} 的收款账户不一致",
      en="payment {payment} went to a payee account other than the one claim {claim} names",
      on={"PaymentDisbursed": the("payment", "payment_id")})  # fmt: skip
def payee_mismatch(ctx: Ctx, s: Subject) -> Findings:
    payment = ctx.row(T.payments, s.id)
    claim = None if payment is None else ctx.claim(payment["claim_id"])
    if payment is None or claim is None or payment["payee_account"] == claim["payee_account"]:
        return NONE
    return {None: Finding([payment["seq"], claim["claimed_seq"]], {"payment": s.id, "claim": claim["claim_id"]})}


def class_of_training_claim(ctx: Ctx) -> Iterator[Subject]:
    claim = ctx.claim(_claim_id(ctx))
    if claim is not None and claim["kind"] == "training" and claim["class_id"] is not None:
        yield Subject("class", claim["class_id"])


@rule("FIN-SPLIT-CLAIM", severity="medium", subject="class", source="splitting test",
      zh="培训机构 {institution} 就培训班 {class_id} 分 {count} 次申报培训补贴共 {total} 元，超过标准 {unit} 元 × 结业 {completers} 人 = {cap} 元",
      en="institution {institution} filed {count} training claims for class {class_id} totalling {total} yuan, above the standard {unit} × {completers} completers = {cap} yuan",
      on={"SubsidyClaimed": class_of_training_claim, **on_liveness(class_of_training_claim),
          "ClassCompleted": the("class", "class_id")})  # fmt: skip
def split_claim(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    if klass is None or klass["completed_seq"] is None:
        return NONE
    by_claimant: dict[str, list[Row]] = defaultdict(list)
    for claim in class_claims(ctx, s.id, "training"):
        if is_live(claim):
            by_claimant[claim["claimant"]].append(claim)
    groups = {k: v for k, v in by_claimant.items() if len(v) >= 2}
    if not groups:
        return NONE
    std = standard(ctx, "training", class_end(klass), programme=klass["programme"], occupation=klass["occupation"],
                   any_certificate=True)  # fmt: skip
    if std is None or std["per"] != "trainee":
        return NONE
    completers = len(set(klass["completers"] or ()))
    cap = std["amount_fen"] * completers
    for institution, claims in sorted(groups.items()):
        total = sum(int(c["claimed_fen"]) for c in claims)
        if total > cap:
            return {None: Finding([c["claimed_seq"] for c in claims] + [klass["completed_seq"], std["seq"]], {
                "institution": institution, "class_id": s.id, "count": len(claims), "total": yuan(total),
                "unit": yuan(std["amount_fen"]), "completers": completers, "cap": yuan(cap)})}  # fmt: skip
    return NONE


# =====================================================================================================
# INSP — process inspection
# =====================================================================================================
def inspected_class(ctx: Ctx) -> Iterator[Subject]:
    class_id = class_of_inspection(ctx.body)
    if class_id is not None and ctx.body["method"] in PROCESS_CHECKS:
        yield Subject("class", class_id)


PAID_TRAINING = {"InspectionRecorded": inspected_class,
                 **on_money(class_of_training_claim, ("PaymentDisbursed", "PaymentReturned"))}  # fmt: skip


def _paid_training(ctx: Ctx, class_id: str) -> list[Row]:
    return [c for c in class_claims(ctx, class_id, "training") if is_paid(c)]


@rule("INSP-UNINSPECTED", severity="medium", subject="class", source="§4(3) process inspection",
      zh="培训班 {class_id} 的培训补贴已拨付（{claims}），但该班从未接受现场检查或随机抽查",
      en="class {class_id}'s training claim is paid ({claims}), but the class never had a site visit or spot check",
      on=PAID_TRAINING)  # fmt: skip
def uninspected(ctx: Ctx, s: Subject) -> Findings:
    if any(i[3] in PROCESS_CHECKS for i in inspections_of(ctx, s.id)):
        return NONE
    paid = _paid_training(ctx, s.id)
    if not paid:
        return NONE
    evidence: list[int] = []
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {None: Finding(evidence, {"class_id": s.id, "claims": ", ".join(c["claim_id"] for c in paid)})}


@rule("INSP-FAILED-PAID", severity="high", subject="class", source="§4(3) six in place",
      zh="培训班 {class_id} 最近一次检查（{date}，{inspection}）不合格，培训补贴仍已拨付（{claims}）",
      en="class {class_id}'s latest inspection ({inspection}, {date}) failed, yet its training claim was paid ({claims})",
      on=PAID_TRAINING)  # fmt: skip
def failed_paid(ctx: Ctx, s: Subject) -> Findings:
    checks = [i for i in inspections_of(ctx, s.id) if i[3] in PROCESS_CHECKS]
    if not checks:
        return NONE
    latest = max(checks, key=lambda i: (i[4], i[1]))
    if latest[5] != "fail":
        return NONE
    paid = _paid_training(ctx, s.id)
    if not paid:
        return NONE
    evidence = [latest[1]]
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {None: Finding(evidence, {"class_id": s.id, "date": latest[4], "inspection": latest[0],
                                     "claims": ", ".join(c["claim_id"] for c in paid)})}  # fmt: skip
