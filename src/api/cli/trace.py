"""``trace KIND ID`` (追溯, DESIGN §12): the chain behind one subject, each signature re-checked.

``--json`` prints DESIGN §12's document as RFC 8785 JSON and a newline. The human form is a timeline
an inspector can follow, grouped by stage in the order money moves (登记 → 报名 → 考勤 → 结业/鉴定 →
申报 → 审核 → 拨付, then 检查, 资金…), each line with its business date, the signer's name and role,
and ✓/✗ for its signature and its inclusion under the checkpoint; then the flags and, for a
labourer, who read their personal data. ``--lang en`` gives it in English. docs/trace.md explains
how to read it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.projections import consistent
from api.cli.root import Options, fail, options, session
from ledger.encoding.canonical import canonical_str

if TYPE_CHECKING:
    from projections.trace.query import Trace, TraceEvent

TEXT = {
    "title": ("追溯 {kind} {id}", "trace of {kind} {id}"),
    "checkpoint": ("检查点：大小 {size}，根 {root}（数据截至 seq {as_of}）", "checkpoint: size {size}, root {root} (data as of seq {as_of})"),
    "totals": ("共 {n} 条记录；签名 ✓ {sig_ok} ✗ {sig_bad}；包含证明 ✓ {inc_ok} ✗ {inc_bad}",
               "{n} events; signatures ✓ {sig_ok} ✗ {sig_bad}; inclusion ✓ {inc_ok} ✗ {inc_bad}"),
    "broken": ("警告：{n} 条记录的签名或包含证明未通过（标 ✗），请运行 verify 查明原因",
               "warning: {n} events failed the signature or inclusion check (marked ✗); run verify to find out why"),
    "sig": ("签名", "sig"),
    "inc": ("包含", "incl"),
    "officer": ("经办人 {officer}", "officer {officer}"),
    "anomalies": ("异常（{n} 条）", "anomalies ({n})"),
    "no_anomalies": ("异常：无", "anomalies: none"),
    "pii_reads": ("个人信息查阅记录（{n} 次）", "reads of personal data ({n})"),
    "no_pii_reads": ("个人信息查阅记录：无", "reads of personal data: none"),
    "purpose": ("用途", "purpose"),
    "summary": ("按月统计（事件类型 × 月份）", "summary (event type × month)"),
    "page": ("本页 {n} 条（从 seq {start} 起）", "this page: {n} events (from seq {start})"),
    "next": ("下一页：加 --from {next}", "next page: add --from {next}"),
    "empty": ("（无记录）", "(no events)"),
    "evidence": ("导出证据包：subsidy-ledger export evidence {kind} {id} DIR", "evidence bundle: subsidy-ledger export evidence {kind} {id} DIR"),
}  # fmt: skip

KIND = {"payment": ("拨付", "payment"), "claim": ("补贴申请", "claim"), "class": ("培训班", "class"),
        "laborer": ("劳动力", "labourer"), "certificate": ("证书", "certificate"), "fund": ("专项资金", "fund"),
        "actor": ("主体", "actor")}  # fmt: skip

ROLE = {"admin": ("管理员", "admin"), "poverty_office": ("扶贫办", "poverty office"),
        "township": ("乡镇", "township"), "hr_bureau": ("人社局", "HR bureau"),
        "finance_bureau": ("财政局", "finance bureau"), "inspector": ("纪委监委/审计", "inspector"),
        "institution": ("培训机构", "training institution"), "appraisal_center": ("鉴定机构", "appraisal centre"),
        "traffic_authority": ("车管所", "traffic authority"), "employer": ("用人单位", "employer")}  # fmt: skip

# Stages in the order the money moves (GLOSSARY "trace stages"), then the rest; each event type's stage.
STAGES = {
    "registration": (("登记", "registration"), ("LaborerRegistered", "LaborerCorrected", "IdentityConfirmed", "IdentityRejected")),
    "enrolment": (("报名", "enrolment"), ("ClassOpeningRequested", "ClassOpeningApproved", "ClassOpeningRejected",
                                          "ClassCancelled", "TraineeEnrolled", "TraineeWithdrawn")),
    "attendance": (("考勤", "attendance"), ("AttendanceRecorded",)),
    "completion": (("结业/鉴定", "completion/appraisal"), ("ClassCompleted", "CompletionReviewed", "CertificateIssued",
                                                        "CertificateRevoked", "AppraisalFailed")),
    "employment": (("就业", "employment"), ("EmploymentStarted", "PayrollRecorded", "EmploymentProofSubmitted",
                                            "EmploymentEnded")),
    "claim": (("申报", "claim"), ("SubsidyClaimed", "ClaimWithdrawn")),
    "approval": (("审核", "approval"), ("ClaimIdentityVerified", "ClaimApproved", "ClaimRejected")),
    "payment": (("拨付", "payment"), ("PaymentDisbursed", "PaymentReturned", "FundsRecovered")),
    "inspection": (("检查", "inspection"), ("InspectionRecorded", "AnomalyDisposed")),
    "funds": (("资金与标准", "funds and standards"), ("FundAllocated", "FundAdjusted", "SubsidyStandardSet",
                                                   "ReconciliationRecorded")),
    "personal_data": (("个人信息", "personal data"), ("PersonalDataAccessed", "PersonalDataErased")),
    "registry": (("主体与密钥", "actors and keys"), ("ActorRegistered", "KeyRotated", "KeyRevoked")),
}  # fmt: skip
STAGE_OF = {t: stage for stage, (_, types) in STAGES.items() for t in types}

EVENT = {
    "LaborerRegistered": ("劳动力登记", "labourer registered"), "LaborerCorrected": ("登记更正", "registration corrected"),
    "IdentityConfirmed": ("身份核实通过", "identity confirmed"), "IdentityRejected": ("身份核实不通过", "identity rejected"),
    "ClassOpeningRequested": ("开班申请", "class-opening request"), "ClassOpeningApproved": ("开班审批通过", "class opening approved"),
    "ClassOpeningRejected": ("开班审批不通过", "class opening rejected"), "ClassCancelled": ("取消开班", "class cancelled"),
    "TraineeEnrolled": ("学员报名", "trainee enrolled"), "TraineeWithdrawn": ("学员退学", "trainee withdrawn"),
    "AttendanceRecorded": ("考勤", "attendance"), "ClassCompleted": ("结业", "class completed"),
    "CompletionReviewed": ("结业审核", "completion review"), "CertificateIssued": ("发证", "certificate issued"),
    "CertificateRevoked": ("证书撤销", "certificate revoked"), "AppraisalFailed": ("鉴定未通过", "appraisal failed"),
    "EmploymentStarted": ("就业登记", "employment started"), "PayrollRecorded": ("工资表", "payroll"),
    "EmploymentProofSubmitted": ("稳定就业证明", "employment proof"), "EmploymentEnded": ("离职", "employment ended"),
    "SubsidyClaimed": ("补贴申请", "subsidy claimed"), "ClaimWithdrawn": ("申请撤回", "claim withdrawn"),
    "ClaimIdentityVerified": ("申请身份核验", "claim identity check"), "ClaimApproved": ("审核通过", "claim approved"),
    "ClaimRejected": ("审核不通过", "claim rejected"), "PaymentDisbursed": ("拨付", "payment"),
    "PaymentReturned": ("退回", "payment returned"), "FundsRecovered": ("追回", "funds recovered"),
    "InspectionRecorded": ("检查", "inspection"), "AnomalyDisposed": ("异常处置", "anomaly disposed"),
    "FundAllocated": ("资金下达", "fund allocated"), "FundAdjusted": ("资金调整", "fund adjusted"),
    "SubsidyStandardSet": ("补贴标准", "subsidy standard"), "ReconciliationRecorded": ("对账", "reconciliation"),
    "PersonalDataAccessed": ("查阅个人信息", "personal data read"), "PersonalDataErased": ("删除个人信息", "personal data erased"),
    "ActorRegistered": ("主体登记", "actor registered"), "KeyRotated": ("密钥轮换", "key rotated"),
    "KeyRevoked": ("密钥吊销", "key revoked"),
}  # fmt: skip
RELATION = {"subject": ("本对象", "subject")}
SEVERITY = {"critical": ("严重", "critical"), "high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}
STATUS = {"open": ("待核查", "open"), "withdrawn": ("已撤销", "withdrawn"), "confirmed": ("核实属实", "confirmed"),
          "rectified": ("已整改", "rectified"), "false_positive": ("误报", "false positive")}  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(trace)


def trace(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="KIND", help="payment | claim | class | laborer | certificate | fund | actor")],
    ident: Annotated[str, typer.Argument(metavar="ID", help="the subject's id")],
    as_json: Annotated[bool, typer.Option("--json", help="DESIGN §12's JSON (RFC 8785, one line)")] = False,
    checkpoint: Annotated[int | None, typer.Option("--checkpoint", metavar="N", help="under the stored checkpoint of size N (default: the latest)")] = None,
    start: Annotated[int, typer.Option("--from", metavar="SEQ", help="fund/actor: the page's first seq")] = 0,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="fund/actor: events per page (default 1,000)")] = None,
) -> None:
    """追溯: everything behind a payment, claim, class, labourer, certificate, fund or actor, each signature re-checked."""
    from projections.trace.gather import KINDS

    o = options(ctx)
    if kind not in KINDS:
        fail(o, o.pick(f"KIND 须为 {', '.join(KINDS)} 之一", f"KIND must be one of {', '.join(KINDS)}"), 2)
    if start < 0 or (limit is not None and limit < 1):
        fail(o, o.pick("--from 不能为负，--limit 至少为 1", "--from must not be negative, --limit at least 1"), 2)
    if o.server is not None:  # GET /v1/trace: the same document; the timeline without the subjects' labels
        from api.cli import remote

        raw = remote.trace(o, kind, ident, checkpoint=checkpoint, start=start, limit=limit)
        if as_json:
            remote.write(raw)
        else:
            typer.echo(render(o, json.loads(raw), {}, start))
        return
    from api import services

    with session(o) as s, consistent(o):
        doc, subjects = services.trace(s, kind, ident, o.meter(), checkpoint=checkpoint, start=start, limit=limit)
    if as_json:
        typer.echo(canonical_str(doc))
        return
    typer.echo(render(o, doc, subjects, start))


def render(o: Options, doc: Trace, subjects: dict[int, str], start: int = 0) -> str:
    """The timeline (Chinese, or English with --lang en)."""
    kind = o.say(KIND, doc["kind"])
    events = doc["events"]
    lines = [o.say(TEXT, "title", kind=kind, id=doc["id"]),
             o.say(TEXT, "checkpoint", size=doc["checkpoint"]["size"], root=doc["checkpoint"]["root"], as_of=doc["as_of"])]  # fmt: skip
    sig_bad = sum(not e["signature_ok"] for e in events)
    inc_bad = sum(not e["included"] for e in events)
    lines.append(o.say(TEXT, "totals", n=len(events), sig_ok=len(events) - sig_bad, sig_bad=sig_bad,
                       inc_ok=len(events) - inc_bad, inc_bad=inc_bad))  # fmt: skip
    broken = sum(not (e["signature_ok"] and e["included"]) for e in events)
    if broken:
        lines.append(o.say(TEXT, "broken", n=broken))
    if "summary" in doc:
        lines += ["", o.say(TEXT, "summary")]
        for type_, months in doc["summary"].items():
            cells = "  ".join(f"{m} {n}" for m, n in months.items())
            lines.append(f"  {o.say(EVENT, type_)} ({type_}): {cells}")
        lines += ["", o.say(TEXT, "page", n=len(events), start=start)]
    if not events:
        lines.append(o.say(TEXT, "empty"))
    for stage, ((zh, en), _) in STAGES.items():
        staged = [e for e in events if STAGE_OF.get(e["type"], "registry") == stage]
        if not staged:
            continue
        lines += ["", f"【{o.pick(zh, en)}】（{len(staged)}）" if o.lang == "zh" else f"[{en}] ({len(staged)})"]
        lines += [_event_line(o, e, subjects.get(e["seq"], "")) for e in staged]
    if doc.get("next") is not None:
        lines += ["", o.say(TEXT, "next", next=doc.get("next"))]
    lines.append("")
    flags = doc["anomalies"]
    lines.append(o.say(TEXT, "anomalies", n=len(flags)) if flags else o.say(TEXT, "no_anomalies"))
    for f in flags:
        message = f["message"] if o.lang == "zh" else f["message_en"]
        lines.append(f"  [{o.say(SEVERITY, f['severity'])}] {f['rule']}  {o.say(STATUS, f['status'])}  {message}")
    if doc["kind"] == "laborer":
        reads = doc["pii_reads"]
        lines.append(o.say(TEXT, "pii_reads", n=len(reads)) if reads else o.say(TEXT, "no_pii_reads"))
        for r in reads:
            lines.append(f"  seq {r['seq']:<7} {r['at']}  {r['actor']}  {o.say(TEXT, 'purpose')}: {r['purpose']}")
    if doc["kind"] not in ("fund", "actor"):
        lines += ["", o.say(TEXT, "evidence", kind=doc["kind"], id=doc["id"])]
    return "\n".join(lines)


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def _event_line(o: Options, e: TraceEvent, subject: str) -> str:
    role = o.say(ROLE, e["role"]) if e["role"] else "?"
    signer = f"{e['actor_name'] or e['actor']}（{role}）" if o.lang == "zh" else f"{e['actor_name'] or e['actor']} ({role})"
    officer = f"  {o.say(TEXT, 'officer', officer=e['officer'])}" if "officer" in e else ""
    relation = "" if e["relation"] != "subject" else f"  ★{o.say(RELATION, 'subject')}"
    return (f"  {e['business_date']}  seq {e['seq']:<7} {o.say(EVENT, e['type'])} {subject}  {signer}{officer}"
            f"  {o.say(TEXT, 'sig')}{_mark(e['signature_ok'])} {o.say(TEXT, 'inc')}{_mark(e['included'])}{relation}")
