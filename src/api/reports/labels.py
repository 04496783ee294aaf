"""The words of the monthly report (DESIGN §11), Chinese first, in GLOSSARY.md's terms.

Each table maps a key — a JSON field or code of the report — to ``(中文, English)``, as
:func:`api.i18n.say` expects. A code a table does not name yet (a new fund purpose, a new rule
family) is shown as itself rather than hidden.
"""

from __future__ import annotations

from api.i18n import Table

TEXT: Table = {
    "title": ("{place}贫困劳动力职业技能培训工作情况通报", "Vocational skills training of poor labourers in {place}: situation bulletin"),
    "issue": ("（{year}年第{month}期）", " ({year}, no. {month})"),
    "issuer": ("{place}人力资源和社会保障局", "{place} Human Resources and Social Security Bureau"),
    "period": ("统计期：{year}年{month}月1日至{month}月{last}日", "Period: 1–{last} {month_name} {year}"),
    "as_of": ("数据截至：日志检查点第 {size} 条（as_of = {as_of}）", "Data as of: log checkpoint of size {size} (as_of = {as_of})"),
    "root": ("检查点根哈希：{root}", "Checkpoint root hash: {root}"),
    "signed": ("检查点签署时间：{date}（北京时间）", "Checkpoint signed: {date} (Beijing time)"),
    "reproduce": ("本通报由签名日志按上述检查点生成，任何人可据此重新生成并逐字节核对。",
                  "This bulletin is generated from the signed log at the checkpoint above; anyone can generate it again and compare it byte for byte."),
    "s1": ("一、总体进展", "1. Overall progress"),
    "s2": ("二、资金拨付", "2. Funds and payments"),
    "s3": ("三、督导检查", "3. Supervision and inspections"),
    "s4": ("四、发现的问题", "4. Problems found"),
    "s5": ("五、培训机构情况", "5. Training institutions"),
    "s6": ("六、数据补报情况", "6. Events recorded late"),
    "sheet1": ("总体进展", "Progress"),
    "sheet2": ("资金拨付", "Funds"),
    "sheet3": ("督导检查", "Inspections"),
    "sheet4": ("发现的问题", "Problems"),
    "sheet5": ("培训机构", "Institutions"),
    "sheet6": ("补报情况", "Late events"),
    # 一、总体进展
    "lead_progress_target": (
        "截至{month}月末，累计培训{times}人次，完成目标任务（{tmin}—{tmax}人次）下限的{pct}%。",
        "By the end of {month_name}, {times} trainee-times have been trained: {pct}% of the lower target ({tmin}–{tmax}).",
    ),
    "lead_progress": ("截至{month}月末，累计培训{times}人次（未设定目标任务）。", "By the end of {month_name}, {times} trainee-times have been trained (no target set)."),
    "lead_month": (
        "本月新开班{approved}个，报名{enrolments}人次，结业{completers}人，取得证书{certs}本。",
        "This month {approved} classes were approved, {enrolments} trainees enrolled, {completers} completed and {certs} certificates were issued.",
    ),
    "lead_households": (
        "已登记贫困家庭{households}户，其中{with_cert}户至少一人持证（{pct}%）。",
        "{households} poor households are registered; {with_cert} of them ({pct}%) have at least one certificate holder.",
    ),
    "activity": ("本月工作情况", "Activity this month"),
    "cumulative": ("累计情况", "Cumulative figures"),
    "series": ("各月累计培训人次", "Trainee-times by month (cumulative)"),
    "chart_series": ("累计培训人次与目标任务", "Cumulative trainee-times against the target"),
    "item": ("项目", "item"),
    "count": ("数量", "count"),
    "month": ("月份", "month"),
    "trainee_times": ("累计培训人次", "trainee-times (cumulative)"),
    "completers_month": ("当月结业人数", "completers in the month"),
    "target_min": ("目标任务下限", "target (lower)"),
    "target_max": ("目标任务上限", "target (upper)"),
    "classes_requested": ("开班申请（个）", "class-opening requests"),
    "classes_approved": ("开班审批（个）", "class openings approved"),
    "classes_completed": ("结业班次（个）", "classes completed"),
    "enrolments": ("报名（人次）", "enrolments"),
    "withdrawals": ("退学（人次）", "withdrawals"),
    "completers": ("结业（人）", "completers"),
    "certificates": ("取得证书（本）", "certificates issued"),
    "appraisals_failed": ("鉴定未通过（人次）", "appraisals failed"),
    "employments_started": ("实现就业（人）", "employments started"),
    "employment_proofs": ("稳定就业6个月以上证明（份）", "six-month employment proofs"),
    "cum_trainee_times": ("累计培训人次", "trainee-times"),
    "cum_target": ("目标任务（人次）", "target (trainee-times)"),
    "households_registered": ("已登记贫困家庭（户）", "poor households registered"),
    "households_with_certificate": ("至少一人持证的家庭（户）", "households with a certificate holder"),
    "not_set": ("未设定", "not set"),
    # 二、资金拨付
    "lead_funds": (
        "本地区专项资金累计到位{allocated}元（下达及调整），净拨付{paid}元，执行率{pct}%；本月审核通过{approved}元，拨付{paid_month}元。",
        "Special funds available so far (allocated and adjusted): {allocated} yuan; net paid {paid} yuan ({pct}% executed). This month {approved} yuan were approved and {paid_month} yuan paid.",
    ),
    "money_month": ("本月资金情况（按申请所属地区）", "Money this month (by the claim's jurisdiction)"),
    "amount": ("金额（元）", "amount (yuan)"),
    "claimed_fen": ("申报", "claimed"),
    "approved_fen": ("审核通过", "approved"),
    "paid_fen": ("拨付", "paid"),
    "returned_fen": ("退回", "returned"),
    "recovered_fen": ("追回", "recovered"),
    "funds": ("专项资金（累计，元）", "Special funds (cumulative, yuan)"),
    "fund_id": ("资金编号", "fund"),
    "source": ("来源", "source"),
    "purpose": ("用途", "purpose"),
    "year": ("年度", "year"),
    "allocated_fen": ("下达", "allocated"),
    "adjusted_fen": ("调整", "adjusted"),
    "balance_fen": ("结余", "balance"),
    "funds_by_purpose": ("按用途汇总（元）", "By purpose (yuan)"),
    "available_fen": ("可用（下达+调整）", "available (allocated + adjusted)"),
    "net_paid_fen": ("净拨付（拨付−退回）", "net paid (paid − returned)"),
    "chart_funds": ("各用途资金下达与拨付", "Funds available and paid by purpose"),
    "total": ("合计", "total"),
    # 三、督导检查
    "lead_inspections": ("本月开展督导检查{n}次，发现问题{fail}次。", "{n} inspections this month; {fail} found problems."),
    "inspections": ("本月督导检查", "Inspections this month"),
    "method": ("方式", "method"),
    "pass": ("合格", "pass"),
    "fail": ("不合格", "fail"),
    "inspection_total": ("小计", "total"),
    # 四、发现的问题
    "lead_anomalies": (
        "本月新发现异常{raised}条，撤销{withdrawn}条，处置{disposed}条；月末待核查{open}条，其中严重{critical}条。",
        "This month {raised} anomalies were raised, {withdrawn} withdrawn and {disposed} disposed of; {open} were open at the month's end, {critical} of them critical.",
    ),
    "principle": ("按照“谁使用、谁负责，谁审核、谁监管”的原则，各单位应对本单位待核查异常逐条核实整改。",
                  "Under the principle “who uses is responsible; who reviews supervises”, each organisation checks and rectifies its open anomalies one by one."),
    "anomaly_flow": ("本月异常变动", "Anomalies this month"),
    "raised": ("新发现", "raised"),
    "withdrawn": ("撤销", "withdrawn"),
    "disposed": ("处置", "disposed of"),
    "open_at_month_end": ("月末待核查", "open at month end"),
    "by_family": ("月末待核查异常（按类别）", "Open anomalies by family"),
    "by_severity": ("月末待核查异常（按级别）", "Open anomalies by severity"),
    "by_organisation": ("待核查异常（按责任单位）", "Open anomalies by responsible organisation"),
    "family": ("类别", "family"),
    "severity": ("级别", "severity"),
    "organisation": ("责任单位", "organisation"),
    "open_anomalies": ("待核查异常（条）", "open anomalies"),
    "chart_family": ("待核查异常类别分布", "Open anomalies by family"),
    "chart_severity": ("待核查异常级别分布", "Open anomalies by severity"),
    # 五、培训机构情况
    "lead_institutions": ("本地区共有{n}家培训机构参与培训。", "{n} training institutions took part."),
    "institutions": ("培训机构情况", "Training institutions"),
    "institution": ("培训机构", "institution"),
    "trainees": ("培训人数", "trainees"),
    "inst_completers": ("结业人数", "completers"),
    "certified": ("持证人数", "certified"),
    "employed": ("就业人数", "employed"),
    "per_100": ("每百人异常（条）", "anomalies per 100 trainees"),
    "none": ("无", "none"),
    "named": ("{name}（{code}）", "{name} ({code})"),
    # 六、数据补报情况
    "lead_late": (
        "以下数字在按第 {size} 条检查点重新计算时发生变化（迟到的记录 {n} 条）。",
        "These figures changed when counted again at the checkpoint of size {size} ({n} leaves arrived late).",
    ),
    "late": ("原通报数与现知数", "As issued and as known now"),
    "path": ("指标", "figure"),
    "as_issued": ("原通报数", "as issued"),
    "as_known_now": ("现知数", "as known now"),
    "late_seqs": ("迟到记录序号：{seqs}", "Late leaves (seq): {seqs}"),
}

# The steps of a JSON pointer into the report (``late.changes[].path``), by the label they take.
PATH = {
    "activity": "activity", "cumulative": "cumulative", "funds": "funds", "money_month": "money_month",
    "inspections": "inspections", "anomalies": "anomaly_flow", "institutions": "institutions",
    "classes_requested": "classes_requested", "classes_approved": "classes_approved",
    "classes_completed": "classes_completed", "enrolments": "enrolments", "withdrawals": "withdrawals",
    "completers": "completers", "certificates": "certificates", "appraisals_failed": "appraisals_failed",
    "employments_started": "employments_started", "employment_proofs": "employment_proofs",
    "trainee_times": "cum_trainee_times", "households_registered": "households_registered",
    "households_with_certificate": "households_with_certificate", "target": "cum_target",
    "allocated_fen": "allocated_fen", "adjusted_fen": "adjusted_fen", "paid_fen": "paid_fen",
    "returned_fen": "returned_fen", "recovered_fen": "recovered_fen", "balance_fen": "balance_fen",
    "claimed_fen": "claimed_fen", "approved_fen": "approved_fen",
    "pass": "pass", "fail": "fail", "raised": "raised", "withdrawn": "withdrawn", "disposed": "disposed",
    "open_at_month_end": "open_at_month_end", "by_family": "by_family", "by_severity": "by_severity",
    "trainees": "trainees", "certified": "certified", "employed": "employed", "open_anomalies": "open_anomalies",
    "anomalies_per_100_trainees": "per_100",
}  # fmt: skip

CERTIFICATE: Table = {
    "vocational_qualification": ("职业资格证书", "vocational qualification certificate"),
    "special_ability": ("专项职业能力证书", "special vocational ability certificate"),
    "training_completion": ("培训合格证书", "training completion certificate"),
    "driving_licence": ("机动车驾驶证", "driving licence"),
}
PURPOSE: Table = {
    "training": ("培训补贴", "training subsidy"),
    "appraisal": ("鉴定补贴", "appraisal subsidy"),
    "living_allowance": ("生活费补贴", "living allowance"),
    "employer": ("用人单位补贴", "employer subsidy"),
}
SOURCE: Table = {"central": ("中央", "central"), "region": ("自治区", "region"), "city": ("市级", "city"), "county": ("县级", "county")}
METHOD: Table = {
    "site_visit": ("过程检查", "process inspection"),
    "spot_check": ("随机抽查", "random spot check"),
    "questionnaire": ("人员问卷", "questionnaire"),
    "phone_visit": ("电话询访", "phone visit"),
}
# RULES.md's families, by the prefix of their rule ids.
FAMILY: Table = {
    "DUP": ("重复申领", "duplicates"),
    "SEQ": ("程序缺失", "missing steps"),
    "STD": ("不符合标准", "standards"),
    "ELIG": ("对象不符", "eligibility"),
    "CONF": ("核查不符", "field checks"),
    "NET": ("关联套取", "networks"),
    "SOD": ("审核监管未分离", "separation of duties"),
    "TIME": ("时间异常", "timing"),
    "FIN": ("资金异常", "money"),
    "INSP": ("督导缺失", "inspection"),
}
SEVERITY: Table = {"critical": ("严重", "critical"), "high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}
# Jurisdictions of DESIGN §2 in English (their Chinese names are the ledger's configuration).
PLACE_EN = {
    "640400": "Guyuan City",
    "640402": "Yuanzhou District",
    "640422": "Xiji County",
    "640423": "Longde County",
    "640424": "Jingyuan County",
    "640425": "Pengyang County",
}
MONTH_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December")  # fmt: skip
