"""The field guide to the rules (docs/rules.md), generated from the registry so it cannot drift.

Per rule: what it means, why it matters, how to check it in the field — Chinese first, then
English. Id, severity, subject and source come from the rule's own registration.

    .venv/bin/python -m projections.anomalies.guide > docs/rules.md
"""

from __future__ import annotations

from projections.anomalies.engine import RULES, SEVERITY_ZH, Rule, SubjectKind

SUBJECT_ZH: dict[SubjectKind, str] = {"laborer": "劳动力", "class": "培训班", "claim": "补贴申请", "payment": "拨付", "fund": "专项资金",
              "certificate": "证书", "account": "收款账户", "actor": "主体（机构）", "employment": "就业记录",
              "reconciliation": "银行对账（财政局:月份）"}  # fmt: skip

# rule → (含义, meaning, 为何重要, why it matters, 现场核查, field check)
GUIDE: dict[str, tuple[str, str, str, str, str, str]] = {
    "DUP-LABORER": (
        "同一身份证号（指纹）被登记为两名劳动力；标记后登记的那一个。",
        "One ID number (fingerprint) registered as two labourers; the later registration is flagged.",
        "身份认定要精准（§4(5)）：一人两档可以重复培训、重复领补贴。",
        "Identities must be precise (§4(5)): one person on two records can be trained and paid twice.",
        "调取两条登记的个人信息（pii show，查阅留痕），与户籍和扶贫开发信息系统比对，注销重复档案。",
        "Read both records' personal data (pii show, which is logged), compare with the household register and "
        "the poverty information system, and close the duplicate.",
    ),
    "DUP-CLAIM-LINE": (
        "同一劳动力在同一培训班、同一类别的两份有效补贴申请中都出现；标记后申报的那一份。",
        "One labourer on lines of two live claims of the same kind for the same class; the later claim is flagged.",
        "培训人数统计要精准（§4(5)）：同一人次申报两次即虚报。",
        "Counts must be precise (§4(5)): the same trainee-time claimed twice is a false claim.",
        "比对两份申请的花名册与考勤表，确认是否为补报；已拨付的追回多付部分。",
        "Compare both claims' rosters with the attendance sheets; recover what was paid twice.",
    ),
    "DUP-CERTIFICATE": (
        "同一证书编号在同类有效申请中被两名劳动力或两份申请引用。",
        "One certificate number cited on live claim lines of the same kind for two labourers or in two claims.",
        "证书是申领补贴的凭据（§3）：一证多用即冒用证书。",
        "A certificate is the proof a subsidy rests on (§3): one certificate used twice is borrowed.",
        "到发证机构核验证书持有人，核对申请所附证书复印件与本人是否一致。",
        "Verify the holder with the issuing body and compare the copies attached to each claim with the person.",
    ),
    "DUP-PAYMENT": (
        "一份申请有两笔金额相同、收款账户相同且未退回的拨付。",
        "Two payments for one claim with the same amount and payee, neither returned by the bank.",
        "资金拨付要精准（§4(5)）：重复拨付是最常见的多付。",
        "Disbursement must be precise (§4(5)): a repeated payment is the commonest overpayment.",
        "调取两笔拨付的银行回单与对账单，确认到账情况后追回。",
        "Pull both bank slips and the statement, confirm both arrived, and recover one.",
    ),
    "DUP-REPEAT-TRAINING": (
        "同一劳动力同一工种、同一等级两次获得培训补贴，或一年内获补培训超过 3 次。",
        "A labourer paid for training twice for one occupation and level, or more than three times in a year.",
        "国家技能提升行动方案：每人每年享受培训补贴不超过 3 次，同一职业同一等级只享受一次。",
        "National upgrading plan: at most three subsidised trainings a year; one occupation and level once.",
        "电话或入户询问本人参训经历，核对各期花名册与证书等级。",
        "Ask the labourer about each training and check every roster and certificate level.",
    ),
    "SEQ-PAID-WITHOUT-APPROVAL": (
        "拨付的起息日早于该申请的任何审核通过（或根本没有审核通过）。",
        "A payment whose value date precedes every approval of its claim (or that has no approval at all).",
        "先审核后拨付（§4(5)）；未经审核的拨付无人负责。",
        "Approval comes before payment (§4(5)); money paid without approval has no one answerable for it.",
        "调取财政拨付审批单，查明由谁、依据什么拨付。",
        "Pull the finance bureau's payment order and find who paid and on what authority.",
    ),
    "SEQ-PAID-WITHOUT-ATTENDANCE": (
        "已审核或已拨付的培训补贴明细中的劳动力在该班没有任何考勤记录。审核时即判定，拨付时证据增加。",
        "A training line approved or paid for a labourer with no attendance in that class; judged at approval, "
        "its evidence grows at payment.",
        "考勤到位（§4(3)）；无考勤而领补贴是\u201c虚报冒领\u201d的典型形态，需在拨付前拦截。",
        "Attendance must be in place (§4(3)); pay without attendance is the classic ghost trainee — stop it "
        "before payment.",
        "调取纸质签到表和实训照片，电话联系本人核实是否参训。",
        "Pull the paper sign-in sheets and practical-training photos; phone the labourer.",
    ),
    "SEQ-PAID-WITHOUT-CERTIFICATE": (
        "已审核或已拨付的培训补贴明细中的劳动力没有该班有效（未吊销）的证书。",
        "A training line approved or paid without a valid (unrevoked) certificate of that labourer for that class.",
        "取证后方可申领（§3、§4(3)）。",
        "The subsidy is paid for a certificate earned (§3, §4(3)).",
        "到发证机构查询证书；证书不存在或被吊销的，追回补贴。",
        "Query the issuing body; recover the subsidy if the certificate does not exist or was revoked.",
    ),
    "SEQ-PAID-WITHOUT-REVIEW": (
        "已审核或已拨付的培训补贴所属培训班没有通过结业审核。",
        "A training claim approved or paid for a class with no approving completion review.",
        "结业审核（§4(3)）是拨付的前置环节。",
        "The completion review (§4(3)) must precede payment.",
        "调取人社局结业审核材料，确认审核人和审核意见。",
        "Pull the HR bureau's completion-review file and its reviewer's opinion.",
    ),
    "SEQ-PAID-WITHOUT-IDENTITY": (
        "已审核或已拨付的明细中的劳动力从未经扶贫部门认定身份，或最近一次认定为不通过（含申请核验时被剔除）。",
        "A line approved or paid for a labourer never confirmed by the poverty office, or whose latest identity "
        "decision (including claim verification) is a rejection.",
        "身份认定精准（§4(5)、§5(1)）：补贴只给建档立卡贫困劳动力。",
        "Identity must be precise (§4(5), §5(1)): the subsidy is for registered poor labourers.",
        "与扶贫开发信息系统比对身份；被剔除者的补贴应在拨付前扣除。",
        "Check against the poverty information system; remove rejected labourers before payment.",
    ),
    "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS": (
        "用人单位补贴明细：自入职月起连续工资记录不足 6 个月，或该劳动力没有有效证书。",
        "An employer line with fewer than 6 consecutive payroll months from the start month, or no valid "
        "certificate for the labourer.",
        "稳定就业 6 个月以上并取得证书方可申领（§4(4)）。",
        "Employer subsidies need six months' stable employment and a certificate (§4(4)).",
        "调取工资发放银行流水和社保缴费记录，核对连续月份。",
        "Pull the wage bank transfers and social-insurance records and check the months.",
    ),
    "SEQ-BEFORE-APPROVAL": (
        "报名或考勤的日期早于开班审批（或尚未审批）。",
        "Enrolment or attendance dated before the class's opening approval (or with none yet).",
        "先申请后开班（§4(3)）。",
        "A class opens only after its application is approved (§4(3)).",
        "核对开班申请、审批文件日期与首日签到表。",
        "Compare the application, the approval and the first sign-in sheet.",
    ),
    "STD-CLASS-SIZE": (
        "在册（报名且未退出）学员超过 50 人。",
        "More than 50 trainees enrolled and not withdrawn.",
        "每班不超过 50 人（§4(3)），以保证教学质量。",
        "At most 50 per class (§4(3)), for teaching quality.",
        "现场清点人数，核对花名册与签到表。",
        "Count heads on site and compare the roster with the sign-in sheet.",
    ),
    "STD-DURATION": (
        "就业技能、专项能力培训班结业后，首末考勤日跨度不足 20 天或超过 30 天（驾驶员、两后生不适用）。",
        "Once an employment-skill or special-ability class completes, its span from first to last attendance is "
        "under 20 or over 30 days (driver and two-after programmes exempt).",
        "培训周期 20—30 天（§4(3)）；压缩周期即压缩学时。",
        "Courses run 20–30 days (§4(3)); a shorter course is fewer class-hours paid in full.",
        "核对教学计划、课程表和每日签到。",
        "Check the teaching plan, the timetable and each day's sign-in.",
    ),
    "STD-DAILY-HOURS": (
        "某培训日学时（当天任一学员理论+实操的最大值）不足 6 学时（同上适用范围）。",
        "A class-day under 6 class-hours (the most theory + practical of any trainee that day); same programmes.",
        "每天不少于 6 学时（§4(3)）。",
        "At least 6 class-hours a day (§4(3)).",
        "核对当日课程表、授课记录和签到签退时间。",
        "Check that day's timetable, teaching log and sign-in/out times.",
    ),
    "STD-PRACTICAL-SHARE": (
        "全班结业后，实操学时不足全部学时的 2/3（3 × 实操 < 2 × 总学时）。",
        "Over a completed class, practical hours below two-thirds of all hours (3 × practical < 2 × total).",
        "实操不少于 2/3（§4(3)）；以理论代实操达不到技能培训目的。",
        "Practical at least 2/3 (§4(3)); lectures in place of practice teach no skill.",
        "查看实训场地、设备和实训记录、照片。",
        "Inspect the practical site, equipment, records and photos.",
    ),
    "STD-OVER-STANDARD": (
        "申报或审核金额高于培训班结业日生效的补贴标准（按类别、项目、证书类型、工种取最具体者；生活费按出勤天数）。",
        "A claimed or approved line above the subsidy standard in force on the class's end date (the most "
        "specific by kind, programme, certificate type and occupation; living allowance per day attended).",
        "五统一：统一补贴标准（§4(3)）。",
        "Five unifications: one subsidy standard (§4(3)).",
        "核对标准文件与申请金额，多申报部分不予拨付或追回。",
        "Compare with the standard; do not pay, or recover, the excess.",
    ),
    "STD-UNAPPRAISED": (
        "国家职业资格目录内工种的培训补贴已拨付，但该劳动力在该班仅有培训合格证书。",
        "A paid training line for an in-catalogue class whose labourer holds only a training-completion "
        "certificate for it.",
        "目录内工种须经鉴定取证（§3(2)、§4(3)），按鉴定结果给补贴。",
        "In-catalogue occupations require appraisal (§3(2), §4(3)); the subsidy follows the appraisal.",
        "向鉴定机构查询鉴定记录；未鉴定或未通过的按培训合格标准核减。",
        "Ask the appraisal centre; reduce to the training-completion standard if not appraised or failed.",
    ),
    "ELIG-DRIVER-AGE": (
        "机动车驾驶员培训学员开班时已满 50 岁。",
        "A driver-programme enrolee aged 50 or more at the class's planned start.",
        "驾驶员培训对象为 50 岁以下（§3(3)）。",
        "Driver training is for labourers under 50 (§3(3)).",
        "核对身份证出生日期；确属超龄的取消补贴。",
        "Check the birth date on the ID card; remove the subsidy if over age.",
    ),
    "ELIG-AGE-RANGE": (
        "学员开班时不满 16 岁或超过 60 岁。",
        "An enrolee aged under 16 or over 60 at the class's planned start.",
        "自治区方案：培训对象为 16—60 岁劳动力（NX）。",
        "The regional plan trains labourers aged 16–60 (NX).",
        "核对身份证出生日期，必要时更正登记信息（LaborerCorrected 会撤销此异常）。",
        "Check the ID card; a correction of the record (LaborerCorrected) withdraws the flag.",
    ),
    "ELIG-NOT-POOR": (
        "非建档立卡劳动力的补贴由仅限贫困劳动力的资金拨付。",
        "A non-poor labourer on a paid line of a claim paid from a fund reserved for the poor (the default).",
        "专项资金用于建档立卡贫困劳动力（§2）。",
        "The special funds are for registered poor labourers (§2).",
        "核对资金文件的使用范围，改由其他资金列支或追回。",
        "Check the fund's terms; charge another fund or recover.",
    ),
    "CONF-INSPECTION-ABSENT": (
        "现场检查或随机抽查记录某学员缺勤，当天考勤却记其出勤。",
        "Attendance for a labourer on a day a site visit or spot check of that class listed them absent.",
        "随机抽查（§4(5)）是发现代签到的直接证据。",
        "Spot checks (§4(5)) are the direct evidence of proxy sign-ins.",
        "约谈培训机构，调取当日签到表原件和监控，询问本人。",
        "Interview the institution, pull the original sheet and video, ask the labourer.",
    ),
    "CONF-HEADCOUNT": (
        "现场检查或随机抽查实到人数少于当天考勤登记人数。",
        "A site visit or spot check found fewer present than that day's attendance lists.",
        "人数统计精准（§4(5)）。",
        "Counts must be precise (§4(5)).",
        "比对检查记录与当日签到表，逐人核实缺席原因。",
        "Compare the inspection with the day's sheet and account for each missing person.",
    ),
    "CONF-DOUBLE-PRESENCE": (
        "同一劳动力同一天出现在两个培训班的考勤中。",
        "One labourer in the attendance of two classes on one day.",
        "一人不能同时在两地参训：至少一处考勤不实（重叠检查）。",
        "No one trains in two places at once: at least one attendance is false (overlap test).",
        "比对两班签到时间与地点，询问本人。",
        "Compare both classes' sign-in times and sites; ask the labourer.",
    ),
    "CONF-AFTER-WITHDRAWAL": (
        "学员退出培训班后仍有该班考勤记录或补贴申报。",
        "Attendance or a claim line for a labourer after their withdrawal from that class.",
        "退出者不再计入培训人数（§4(3)）。",
        "A withdrawn trainee no longer counts (§4(3)).",
        "核对退学申请与之后的签到表，核减补贴。",
        "Check the withdrawal request against later sheets; reduce the claim.",
    ),
    "CONF-VISIT-DENIAL": (
        "电话询访或问卷中劳动力否认参训或否认收到补贴，而其补贴已拨付。",
        "A phone visit or questionnaire finds a labourer denying attendance or payment on a paid line.",
        "电话回访（§4(5)）直接检验补贴是否真实到人。",
        "Phone visits (§4(5)) test directly whether the subsidy reached a real trainee.",
        "再次回访或入户核实，调取签到表和拨付凭证。",
        "Visit again or at home; pull the sheets and the payment slips.",
    ),
    "CONF-EMPLOYED-BEFORE-TRAINING": (
        "订单培训就业记录在培训班首次考勤之前的月份已有工资记录。",
        "Payroll at the employer for a month before the order-training class's first attendance.",
        "先上岗后补培训，培训补贴和用人单位补贴可能都不应支付（审计实践）。",
        "Employed before being trained: the training and employer subsidies may both be unjustified (audit practice).",
        "调取劳动合同、社保记录与工资流水，核对入职时间。",
        "Pull the contract, social-insurance record and wage transfers; check the start.",
    ),
    "NET-SHARED-ACCOUNT": (
        "同一收款账户收取 3 名以上、分属 3 户以上劳动力的生活费补贴。",
        "One payee account receives living-allowance payments for 3 or more labourers of 3 or more households.",
        "生活费补贴应直接发到本人账户；一卡多人多户是代领、截留的信号。",
        "Living allowances go to the labourer's own account; one account for several households signals "
        "withholding by an intermediary.",
        "向银行查询账户户名，逐人核实是否收到补贴。",
        "Ask the bank who holds the account and check with each labourer.",
    ),
    "NET-RECYCLED-TRAINEE": (
        "同一培训机构在同一年让同一劳动力参加 3 个及以上培训班（按开班年份）。",
        "One institution enrols one labourer in 3 or more classes starting in one calendar year.",
        "培训对象应有序轮训（§4(2)）；反复培训同一人是凑人数。",
        "Training should reach new people (§4(2)); recycling one person pads the numbers.",
        "询问本人参训经历，核对各期签到。",
        "Ask the labourer and check each class's sign-in.",
    ),
    "SOD-REVIEWER-ONLY-CHECK": (
        "已拨付的培训班接受过检查，但所有检查都由审核其补贴申请的同一主体实施。",
        "A paid class that was inspected, every inspection by the actor that approved its claim.",
        "谁审核、谁监管（§4(5)）不能由同一主体既审又查而无人复核。",
        "Who reviews supervises (§4(5)) — but a reviewer checking only itself leaves no independent check.",
        "安排财政、纪检或审计部门抽查该班。",
        "Have finance, discipline inspection or audit check the class.",
    ),
    "TIME-BACKDATED": (
        "考勤、检查记录签名时间比业务日期晚 7 天以上；工资表签名比该月最后一天晚 7 天以上。",
        "An attendance or inspection signed more than 7 days after its date, or a payroll more than 7 days after "
        "the month's last day.",
        "事后补录的记录可信度低（时效性）。",
        "Records made up afterwards are less credible (timeliness).",
        "询问补录原因，核对原始纸质记录。",
        "Ask why it was recorded late and check the paper original.",
    ),
    "TIME-CERT-BEFORE-END": (
        "证书发证日期早于培训班最后考勤日。",
        "A certificate issued before the class's last attendance day.",
        "先培训后发证（§3）；提前发证说明考核走过场。",
        "Training precedes certification (§3); an early certificate means no real assessment.",
        "核对考核记录和发证审批时间。",
        "Check the assessment record and the issuing approval.",
    ),
    "TIME-WEEKEND-PAYMENT": (
        "拨付起息日是周末或法定节假日，且不是调休工作日（2018—2021 年节假日表）。",
        "A payment value-dated on a weekend or public holiday that is not an official make-up working day "
        "(holiday table 2018–2021).",
        "国库集中支付只在工作日办理：非工作日的起息日可能是倒填。",
        "Treasury payments are made on working days: a holiday value date may be backdated.",
        "向代理银行核实实际支付日期。",
        "Ask the agent bank for the actual payment date.",
    ),
    "TIME-STALE-CLAIM": (
        "申请审核通过后按日志时钟超过 90 天仍未拨付。",
        "An approved claim unpaid more than 90 days after approval, by the log clock.",
        "资金滞留影响培训机构和劳动力的权益（积压）。",
        "Money held back hurts institutions and labourers (backlog).",
        "询问财政部门未拨付原因。",
        "Ask the finance bureau why it is unpaid.",
    ),
    "TIME-SIGNED-AFTER-REVOCATION": (
        "密钥吊销的生效时间早于某些已记录事件的签名时间：这些事件可能是被盗用的密钥签的。",
        "Events accepted before a key revocation whose effective time precedes their signing time: they may "
        "have been signed with a stolen key.",
        "密钥泄露后的签名不能代表该机构（密钥安全）。",
        "Signatures after a key was compromised do not speak for the organisation (key compromise).",
        "请该机构逐条确认被覆盖的记录，必要时重新签署。",
        "Have the organisation confirm each covered record, re-signing where needed.",
    ),
    "FIN-OVERPAID": (
        "一份申请的拨付（扣除退回）超过审核通过金额（未审核按 0 计）。",
        "Payments on a claim, net of returns, above its approved total (no approval counts as 0).",
        "资金拨付精准（§4(5)）。",
        "Disbursement must be precise (§4(5)).",
        "核对拨付凭证，追回多付部分。",
        "Check the slips and recover the excess.",
    ),
    "FIN-APPROVED-OVER-CLAIM": (
        "审核通过金额高于申报金额（合计或某一明细）。",
        "An approval above the amount claimed, in total or on a line.",
        "审核只能核减不能核增（审批控制）。",
        "An approval may reduce a claim, never raise it (approval control).",
        "约谈审核人，核对审核依据。",
        "Interview the approver and check the basis.",
    ),
    "FIN-FUND-OVERDRAWN": (
        "专项资金拨付（扣除退回）超过下达和调整后的总额。",
        "Payments from a fund, net of returns, above its allocations and adjustments.",
        "不得超预算支付（资金控制）。",
        "No payment beyond the budget (fund control).",
        "核对资金下达文件与拨付台账。",
        "Reconcile the allocation documents with the payment ledger.",
    ),
    "FIN-FUND-MISMATCH": (
        "拨付使用的资金用途与补贴类别不符，或资金属地既非申请所属地也非其上级，或资金年度与起息日年度不同。",
        "A payment from a fund of another purpose than the claim's kind, or of a jurisdiction neither the "
        "class's (employer's) nor above it, or of another year than the value date's.",
        "专款专用（资金控制）。",
        "Earmarked money for its purpose only (fund control).",
        "核对资金文件和会计凭证，调整列支科目。",
        "Check the fund documents and vouchers; correct the charge.",
    ),
    "FIN-PAYEE-MISMATCH": (
        "拨付的收款账户与申请的收款账户不一致。",
        "A payment's payee account differs from its claim's.",
        "补贴应付到申请载明的账户（收款人检查）。",
        "Money goes to the account the claim names (payee test).",
        "向银行查询实际收款人。",
        "Ask the bank who received it.",
    ),
    "FIN-SPLIT-CLAIM": (
        "同一培训机构就同一培训班分多次申报培训补贴，合计超过标准 × 结业人数。",
        "Several live training claims by one institution for one class that together exceed the standard in "
        "force × the class's completers.",
        "拆分申报可以绕过单笔审核（拆分检查）。",
        "Splitting a claim slips past a per-claim review (splitting test).",
        "合并核对各次申请明细与结业名单。",
        "Check all the claims together against the completers.",
    ),
    "FIN-RECON-EXCEPTION": (
        "拨付人财政局最近一次记录的、覆盖该笔拨付资金和起息月份的银行对账，将这笔拨付列为账本有、银行无，"
        "金额、收款人或日期不符，或退汇未登记（退汇也看之后月份的对账）。",
        "The latest recorded bank reconciliation by the paying finance bureau that covers the payment's fund "
        "and the month of its value date lists it as in the ledger but not at the bank, as differing in amount, "
        "payee or date, or as returned without a recorded return (returns: later months' reconciliations too).",
        "资金拨付要精准（§4(5)）：账本记了而银行没付、付的金额或收款人不对，补贴就没有真正到人。",
        "Disbursement must be precise (§4(5)): a payment the ledger shows but the bank never made, or made "
        "to another amount or payee, did not reach the labourer.",
        "调取该笔拨付的银行回单和对账单原件，核对金额、账号后四位和日期；确属账实不符的，更正账本或追回资金后重新对账。",
        "Pull the bank slip and the original statement, compare amount, the account's last four digits and "
        "the date; correct the ledger or recover the money, then reconcile again.",
    ),
    "FIN-BANK-UNMATCHED": (
        "财政局某月最近一次记录的银行对账（按账户）中，有银行支出在账本中找不到对应拨付（银行有、账本无，或银行重复记录）。",
        "The latest recorded bank reconciliation of a finance bureau for a month (per account) lists money "
        "that left the bank with no payment in the ledger (on the statement only, or a duplicated bank line).",
        "专项资金账户的钱流出却没有记账，是截留、挪用的直接线索。",
        "Money leaving the special-fund account with no record is the most direct trace of diversion.",
        "凭对账结果中的银行流水号向开户行调取交易明细和收款人，查明用途；属实的补记拨付或追回，再重新对账。",
        "Ask the bank for the transaction and its payee by the listed bank reference, establish what it paid; "
        "record the payment or recover the money, then reconcile again.",
    ),
    "INSP-UNINSPECTED": (
        "培训补贴已拨付，但该班从未接受现场检查（site_visit）或随机抽查（spot_check）；问卷、电话询访不算。",
        "A paid training claim for a class that had no site visit or spot check.",
        "过程检查（§4(3)）是质量考核精准的前提。",
        "Process inspection (§4(3)) is what makes quality assessment precise.",
        "补做事后核查：回访学员、查看实训记录。",
        "Check afterwards: phone trainees, inspect practical records.",
    ),
    "INSP-FAILED-PAID": (
        "培训班最近一次现场检查或随机抽查不合格，培训补贴仍已拨付。",
        "A training claim paid for a class whose latest site visit or spot check failed.",
        "六个到位（§4(3)）：检查不合格且未整改复查通过不应拨付。",
        "Six in place (§4(3)): a failed class should not be paid before a passing re-check.",
        "调取整改报告，安排复查。",
        "Pull the rectification report and re-inspect.",
    ),
}


def render() -> str:
    """docs/rules.md."""
    lines = [
        "# 异常规则 / Anomaly rules",
        "",
        "<!-- Generated by `python -m projections.anomalies.guide`; edit src/projections/anomalies/guide.py. -->",
        "",
        "每条规则：含义、为何重要（政策依据）、现场如何核查、对象与级别。合同见 RULES.md；阈值见",
        "`src/projections/anomalies/config.py`。级别：严重 = 停止拨付；高 = 暂缓待审；中 = 抽样复核；低 = 关注趋势。",
        "阈值或规则变更后，下一次投影追赶会自动只重算异常标记（其他投影不变）；也可手动运行",
        "`subsidy-ledger rebuild --anomalies`。",
        "",
        "Each rule: what it means, why it matters (the policy clause), how to check it in the field, its subject",
        "and severity. The contract is RULES.md; thresholds are in `src/projections/anomalies/config.py`. Severity:",
        "critical = stop payment; high = hold for review; medium = sample for review; low = watch the trend.",
        "After a threshold or rule change the next catch-up recomputes the flags alone (the other read models",
        "stay as they are); `subsidy-ledger rebuild --anomalies` does it on demand.",
        "",
        "标记的证据随证明而变：始终是当前支持该标记的事件（被撤回的审核、被后签记录取代的考勤不再列为证据），",
        "因此无论事件以何种顺序入账，证据都相同；`--as-of` 可查看任一时点的证据。",
        "",
        "How flags behave: a flag appears as soon as its evidence is in the log; `evidence` lists the leaves",
        "that prove it now (open them with `subsidy-ledger anomalies show ID`), the same in any arrival order:",
        "a leaf a re-judgement no longer needs leaves it (`--as-of` shows it as it was); a later event that cures it",
        "withdraws it (`withdrawn_seq`), keeping its history; `AnomalyDisposed` records the inspector's",
        "disposition (核实属实 confirmed / 已整改 rectified / 误报 false positive). `--as-of SEQ` answers as the",
        "ledger stood.",
        "",
    ]
    for r in RULES:
        what_zh, what_en, why_zh, why_en, check_zh, check_en = GUIDE[r.id]
        subjects_zh = "或".join(SUBJECT_ZH[k] for k in r.subject)
        subjects = " or ".join(r.subject)
        laborer = "（附劳动力）" if _names_laborer(r.id) else ""
        lines += [
            f"## {r.id}",
            "",
            f"- 级别 severity: **{SEVERITY_ZH[r.severity]} / {r.severity}**",
            f"- 对象 subject: {subjects_zh}{laborer} / {subjects}{' + laborer' if laborer else ''}",
            f"- 依据 source: {r.source}",
            f"- 读取 reads (re-judged when any of them changes): {_reads(r)}",
            "",
            f"**含义** {what_zh}  ",
            f"**What** {what_en}",
            "",
            f"**为何重要** {why_zh}  ",
            f"**Why** {why_en}",
            "",
            f"**现场核查** {check_zh}  ",
            f"**Field check** {check_en}",
            "",
        ]
    lines += [
        "## How detection works / 实现说明",
        "",
        "- Code: `src/projections/anomalies/` — `rules/` (one module per family, `dup.py` … `insp.py`, one",
        "  function per rule registered with `@rule(id, severity=, subject=, source=, zh=, en=, reads=)`; the",
        "  families are imported in RULES.md's order), `reads.py` (what rules read in common: live, paid,",
        "  standing lines, standards…), `triggers.py` (the reads: everything a rule's verdict rests on — a",
        "  claim's payments, a class's attendance, a household, the standards, a certificate — each declared",
        "  once with the events that change it; and the fan-outs to subjects), `engine.py` (deriving",
        "  re-judgements from `reads`; settling a",
        "  rule's answer into flags, history and evidence), `state.py` (the indexes the rules read, typed),",
        "  `query.py` (listing, as-of, `show`), `guide.py` (this page). Thresholds: `src/projections/anomalies/config.py`.",
        "- Incremental: after every event, in the projections' unit of work and transaction, each rule the",
        "  event concerns (for each thing the event changes that the rule reads, the rule's subjects that",
        "  read it; no rule lists trigger events) is judged for those subjects only — never",
        "  a scan of history — and its answer (labourer → evidence, message details) is compared with what the",
        "  subject supported before: new findings raise flags, vanished ones withdraw them, and a flag's",
        "  evidence becomes the union of what its supporting parts cite (`pj_anomaly_evidence` logs each seq",
        "  cited or dropped with the leaf that changed it).",
        "- Adding a rule: write `check(ctx, subject) -> {laborer_id | None: Finding(evidence, details)}` with",
        "  its `@rule(...)` line in its family's module, what it reads, an entry in `GUIDE` above, and a test",
        "  that raises it and a near miss that does not (`tests/unit/rules/`, in memory; each family also runs",
        "  on SQLite and PostgreSQL in `tests/integration/test_rules_*.py`).",
        "- CLI: `subsidy-ledger anomalies [--rule R] [--severity S] [--jurisdiction C] [--status …] [--as-of SEQ]",
        "  [--json]`; `subsidy-ledger anomalies show ID [--json]`.",
        "",
        "## Readings of RULES.md where it leaves a choice",
        "",
        *[f"- {line}" for line in READINGS],
        "",
    ]
    return "\n".join(lines)


READINGS = [
    "**Lines a claim stands for.** Once a claim is approved, its approved lines with an amount above 0; "
    "before, the lines claimed. An approval that drops a line is the control working, not a finding.",
    "**Status.** A flag whose condition is cured becomes `withdrawn` if it was open; an inspector's "
    "disposition stands (the cure still sets `withdrawn_seq`). A withdrawn flag whose condition returns "
    "is raised again (`open`, new `raised_seq`). A disposition naming a flag not raised yet is applied "
    "the moment it is raised.",
    "**SEQ-PAID-WITHOUT-APPROVAL** compares each payment's value date with the earliest approval's "
    "business date: an approval dated on or before the value date is prior (same-day approval and "
    "payment are in order); returned payments count — the money did leave.",
    "**SEQ-BEFORE-APPROVAL** also holds while a class with enrolment or attendance has no approval at "
    "all; an approval dated on or before those days withdraws it. Its evidence is the class's opening "
    "application, and, once an approval is recorded, the entries dated before it and the approval. While "
    "no approval is recorded the flag cites the application alone: which entries precede the approval is "
    "only known once it is recorded. With several approvals the earliest by business date counts.",
    "**SEQ-EMPLOYER-WITHOUT-SIX-MONTHS** counts months from the month of `start_date`.",
    "**STD-DURATION** and **STD-PRACTICAL-SHARE** judge a class once it has a `ClassCompleted` (a class "
    "half-way through is not short); a later attendance record re-judges it. A class-day with nobody on "
    "the list is not a class-day for **STD-DAILY-HOURS**.",
    "**STD-OVER-STANDARD** checks claimed and approved amounts; the standard is the most specific in "
    "force on the class's end date (completion date, else last attendance, else planned end; for "
    "employer claims the claim's date): occupation, then certificate type (of the certificate the line "
    "cites), then programme, then the latest. A `per: day` standard is multiplied by the days the "
    "labourer attended. No standard found: nothing raised. A line citing a certificate not recorded yet "
    "is judged by the standards that name no certificate type; a standard recorded later (more specific, "
    "or the first) and a certificate recorded later re-judge every line they may govern.",
    "**STD-UNAPPRAISED** looks up no standard: it reads the class's `in_catalog`, the claim's payments "
    "and the labourer's valid certificates for the class (a certificate issued or revoked later re-judges).",
    "**DUP-REPEAT-TRAINING** counts paid training claims (distinct claims); the year is the class's "
    "planned start; the level is the cited certificate's.",
    "**DUP-CLAIM-LINE** compares claims that name a class (employer claims name none).",
    "**ELIG-DRIVER-AGE** and **ELIG-AGE-RANGE** judge active enrolees (a withdrawal withdraws the flag); a corrected birth date re-judges.",
    "**CONF-AFTER-WITHDRAWAL**: after = a later business date, or the same date and later by DESIGN §3's "
    "tie-break (the envelope's `at`, then actor and nonce), for attendance and claims alike; claim lines "
    "count on live claims only.",
    "**CONF-VISIT-DENIAL** takes the finding's `laborer_id`, else the visit's subject labourer.",
    "**CONF-EMPLOYED-BEFORE-TRAINING**: a payroll month before the month of the class's first attendance.",
    "**NET-SHARED-ACCOUNT** counts payments not returned; a household corrected later (`LaborerCorrected` "
    "with a `household_id`) re-judges every account that paid that labourer a living allowance.",
    "**NET-RECYCLED-TRAINEE** counts every class the labourer was enrolled in, withdrawn or not, by the "
    "classes' planned start year.",
    "**SOD-REVIEWER-ONLY-CHECK**: a class with a paid training claim; every inspection naming the class "
    "(any method) by the actor that approved a paid training claim of it.",
    "**TIME-BACKDATED** compares the Asia/Shanghai date of `at` with the business date; inspections "
    "count when they name a class. A late signature is never cured.",
    "**TIME-CERT-BEFORE-END**: a revoked certificate no longer counts.",
    "**TIME-STALE-CLAIM**: more than 90 days from the standing approval's business date to the log "
    "clock, the claim approved (not rejected or withdrawn) and nothing paid net of returns.",
    "**FIN-OVERPAID**: the approved total of a claim rejected or withdrawn after its approval is 0.",
    "**FIN-SPLIT-CLAIM** needs a completed class; the cap is the sum over the class's completers of the "
    "training standard in force (on the class's end date, for its programme and occupation) for the "
    "certificate type their lines in the institution's claims cite — a class of mixed certificate types "
    "is judged completer by completer (800 for a training-completion line, 1500 for a qualification…), "
    "the highest when one labourer's lines cite several types. A completer whose lines cite no "
    "certificate recorded in the ledger (or who is not claimed for) counts at the highest training "
    "standard of the class (any certificate type): the benefit of the doubt until the certificate "
    "arrives, which re-judges the class. A completer for whom no per-trainee standard is found: nothing raised.",
    "**FIN-RECON-EXCEPTION** is judged per reconciled month: the payment's own month for every payment "
    "exception, a later month for `return_not_recorded` only; only the paying bureau's reconciliations "
    "count, and a payment recorded after the reconciliation that names it is flagged when it arrives. "
    "Recording the later `PaymentReturned` does not withdraw it: a reconciliation that no longer lists it does.",
    "**FIN-BANK-UNMATCHED** takes the latest reconciliation of the month for each account (the same "
    "`funds`, or none): a bureau that reconciles two accounts' statements for one month has one flag, "
    "held while either account's latest reconciliation lists such money; its evidence is that reconciliation.",
    "**INSP-UNINSPECTED** and **INSP-FAILED-PAID** count site visits and spot checks only; the latter takes the latest by "
    "business date, DESIGN §3's (at, actor, nonce) breaking ties.",
    "**Ties and arrival order** (issue 16). A verdict is a function of the set of events: wherever a rule "
    "asks for \"the later\", \"the latest\" or \"the first\" of one business date, DESIGN §3's order "
    "decides — the envelope's `at` as an instant, then actor, then nonce — never `seq`: the later of two "
    "registrations of one fingerprint (**DUP-LABORER**), the later of two claims of one labourer "
    "(**DUP-CLAIM-LINE**), the first payment to an account, which gives **NET-SHARED-ACCOUNT** its "
    "jurisdiction, the latest reconciliation of a month (one bureau signs them, so `at` then nonce; "
    "**FIN-RECON-EXCEPTION**, **FIN-BANK-UNMATCHED**), the latest of two equally specific standards of "
    "one date (**STD-***, **FIN-SPLIT-CLAIM**), and the record of a class-day recorded again: the "
    "record signed later replaces the other whichever arrives last (every rule reading attendance).",
    "**Evidence follows the proof** (issue 16, RULES.md: evidence the same in any order the ledger "
    "accepts). A flag's evidence is what the parts of its subject that support it cite now, so it can "
    "shrink: a seq a re-judgement no longer cites leaves it — a class-day record superseded by the "
    "record signed later (when the superseded one arrived first), an approval that a rejection or "
    "withdrawal no longer lets stand (approve → pay → reject cites the claim and the payment, as "
    "approve → reject → pay does). Every rule citing a claim's approval also reads its rejection and "
    "withdrawal (**INSP-***, **SOD-REVIEWER-ONLY-CHECK**, **DUP-REPEAT-TRAINING**, **STD-UNAPPRAISED**, "
    "**CONF-VISIT-DENIAL**, beside those that always did). A withdrawn flag keeps the "
    "evidence it had; raised again, it cites what proves it then. `--as-of` answers exactly: "
    "`pj_anomaly_evidence` records each seq cited or dropped with the leaf that did it.",
]

def _reads(r: Rule) -> str:
    """What the rule reads, each with the events that change it, from its declaration (issue 16)."""
    return "; ".join(f"{read.en} ({', '.join('the log clock' if t == '@clock' else f'`{t}`' for t in read.changed)})"
                     for read in r.reads)  # fmt: skip


# RULES.md: rules whose subject is "… + laborer" (laborer subjects name their labourer too).
WITH_LABORER = frozenset({
    "DUP-CLAIM-LINE", "SEQ-PAID-WITHOUT-ATTENDANCE", "SEQ-PAID-WITHOUT-CERTIFICATE", "SEQ-PAID-WITHOUT-IDENTITY",
    "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS", "STD-OVER-STANDARD", "STD-UNAPPRAISED", "ELIG-DRIVER-AGE", "ELIG-AGE-RANGE",
    "ELIG-NOT-POOR", "CONF-INSPECTION-ABSENT", "CONF-AFTER-WITHDRAWAL", "CONF-EMPLOYED-BEFORE-TRAINING",
    "TIME-CERT-BEFORE-END",
})  # fmt: skip


def _names_laborer(rule_id: str) -> bool:
    return rule_id in WITH_LABORER


if __name__ == "__main__":
    print(render(), end="")
