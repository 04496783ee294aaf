"""DUP — duplicates: one person, line, certificate or payment counted twice (RULES.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ledger.domain.money import yuan
from projections import tables as T
from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, rule
from projections.anomalies.reads import (
    KIND_ZH,
    citations,
    claim_lines,
    claim_order,
    in_order,
    is_live,
    is_paid,
    laborer_claims,
    load_lines,
    money_evidence,
    payments_of,
    registrations,
    standing_line,
)
from projections.anomalies.state import ClaimLine
from projections.anomalies.triggers import (
    CERTIFICATE,
    CLAIM_FILED,
    CLAIM_PAYMENTS,
    FINGERPRINT,
    claim_id_of,
    itself,
    laborers_of_training_claim,
    liveness,
    money,
    via,
)
from projections.uow import Row


def holder(ctx: Ctx, certificate_no: str) -> Iterator[Subject]:
    """The labourer holding the certificate."""
    cert = ctx.row(T.certificates, certificate_no)
    if cert is not None:
        yield Subject("laborer", cert["laborer_id"])


def fingerprint_group(ctx: Ctx) -> Iterator[Subject]:
    for registered in registrations(ctx, ctx.body["id_fingerprint"]):
        yield Subject("laborer", registered.laborer_id)


@rule("DUP-LABORER", severity="high", subject="laborer", source="policy §4(5) identity precise; duplicate-key test",
      zh="劳动力 {laborer} 与先登记的 {first} 身份证号相同（指纹一致），重复登记",
      en="labourer {laborer} has the same ID number (fingerprint) as {first}, registered earlier: a duplicate registration",
      reads={FINGERPRINT: via(fingerprint_group)})  # fmt: skip
def duplicate_laborer(ctx: Ctx, s: Subject) -> Findings:
    me = ctx.laborer(s.id)
    if me is None:
        return NONE
    group = sorted(registrations(ctx, me["id_fingerprint"]), key=lambda r: in_order(r.date, r.at, r.actor, r.nonce))
    ids = [r.laborer_id for r in group]
    if s.id not in ids or ids.index(s.id) == 0:
        return NONE
    earlier = group[: ids.index(s.id) + 1]
    return {s.id: Finding([r.seq for r in earlier], {"laborer": s.id, "first": ids[0]})}


def claim_and_siblings(ctx: Ctx) -> Iterator[Subject]:
    """Each line of the claim, and that labourer's line on the other claims of its class and kind."""
    claim = ctx.claim(claim_id_of(ctx))
    if claim is None or claim["class_id"] is None:
        return
    load_lines(ctx, claim)
    for laborer_id in dict.fromkeys(line.laborer_id for line in claim_lines(ctx, claim["claim_id"])):
        for other in laborer_claims(ctx, laborer_id, claim["kind"]):
            if other["class_id"] == claim["class_id"]:
                yield Subject("claim", other["claim_id"], laborer_id)


@rule("DUP-CLAIM-LINE", severity="critical", subject="claim", source="§4(5) counts precise; duplicate test",
      zh="补贴申请 {claim} 再次申报 {laborer} 在培训班 {class_id} 的{kind_zh}补贴，此前已由 {first} 申报（重复申报）",
      en="claim {claim} claims {laborer} in class {class_id} ({kind}) again, already claimed by {first}",
      reads={CLAIM_FILED: via(claim_and_siblings), **liveness(via(claim_and_siblings))})  # fmt: skip
def duplicate_claim_line(ctx: Ctx, s: Subject) -> Findings:
    claim, laborer_id = ctx.claim(s.id), s.part
    if claim is None or claim["class_id"] is None or not is_live(claim):
        return NONE
    if not any(line.laborer_id == laborer_id for line in claim_lines(ctx, s.id)):
        return NONE
    mine = claim_order(ctx, claim)  # "the later" claim by DESIGN §3: business date, then at, actor, nonce
    rivals = [c for c in laborer_claims(ctx, laborer_id, claim["kind"])
              if c["class_id"] == claim["class_id"] and is_live(c) and claim_order(ctx, c) < mine]  # fmt: skip
    if not rivals:
        return NONE
    rivals.sort(key=lambda c: claim_order(ctx, c))
    return {laborer_id: Finding(
        [c["claimed_seq"] for c in rivals] + [claim["claimed_seq"]],
        {"claim": s.id, "laborer": laborer_id, "class_id": claim["class_id"], "kind": claim["kind"],
         "kind_zh": KIND_ZH.get(claim["kind"], claim["kind"]), "first": rivals[0]["claim_id"]},
    )}  # fmt: skip


def certificates_cited(ctx: Ctx) -> Iterator[Subject]:
    claim = ctx.claim(claim_id_of(ctx))
    if claim is None:
        return
    load_lines(ctx, claim)
    for line in claim_lines(ctx, claim["claim_id"]):
        if line.certificate_no is not None:
            yield Subject("certificate", line.certificate_no)


@rule("DUP-CERTIFICATE", severity="critical", subject="certificate", source="duplicate test",
      zh="证书 {certificate} 在{kind_zh}补贴申请中被重复引用：{laborers} 人、{claims} 份申请（{claim_ids}）",
      en="certificate {certificate} is cited on live {kind} claim lines for {laborers} labourer(s) in {claims} claim(s) ({claim_ids})",
      reads={CLAIM_FILED: via(certificates_cited), **liveness(via(certificates_cited)),
             CERTIFICATE: itself("certificate")})  # fmt: skip
def duplicate_certificate(ctx: Ctx, s: Subject) -> Findings:
    by_kind: dict[str, list[tuple[Row, str]]] = defaultdict(list)
    for cited in citations(ctx, s.id):
        claim = ctx.claim(cited.claim_id)
        if claim is not None and is_live(claim):
            by_kind[cited.kind].append((claim, cited.laborer_id))
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
      reads={CLAIM_PAYMENTS: itself("claim")})  # fmt: skip
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
      reads={**money(via(laborers_of_training_claim)), CERTIFICATE: holder})  # fmt: skip
def repeat_training(ctx: Ctx, s: Subject) -> Findings:
    claims = [c for c in laborer_claims(ctx, s.id, "training") if is_paid(c)]
    if len(claims) < 2:  # the common case, decided without looking further
        return NONE
    paid: list[tuple[Row, Row, ClaimLine]] = []
    for claim in claims:
        line = standing_line(ctx, claim, s.id)
        klass = ctx.klass(claim["class_id"])
        if line is not None and klass is not None:
            paid.append((claim, klass, line))
    by_skill: dict[tuple[str, str], list[Row]] = defaultdict(list)
    by_year: dict[int, list[Row]] = defaultdict(list)
    for claim, klass, line in paid:
        by_skill[(klass["occupation"], _training_level(ctx, line.certificate_no) or "")].append(claim)
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
