"""A seeded, reproducible simulator of Guyuan's 2018–2020 poverty-alleviation training programme.

It produces **unsigned intents** in import order; the lead's signing step signs them (DESIGN §9
``import --sign``), fills the personal-data placeholders from ``pii`` (DESIGN §7) and appends
them. Nothing here touches keys, the pepper or the database: pure standard library.

    sim = simulate("city", seed=2019)
    for intent in sim.intents():   # a generator; memory stays flat
        ...
    sim.truth                       # injected misuse, for recall/precision (never in the ledger)

Scales
------
``tiny``  one class of 刺绣 in 西吉县 (spring 2019), with its whole money trail; no misuse.
``small`` 西吉县 (640422) only, spring 2019: 21 classes in three waves (March, April, May),
          about 650–700 trainee-times and 5–6.5k intents (employment and payroll run into
          2020), generated in well under a second.
``city``  all five counties, about 1,070 classes from January 2019 to August 2020 (policy
          issued 2018-12-17; registration from 2018-12-19), about 38,000–41,000 trainee-times
          (the target drawn is 40,000 ± 3 %) — inside the policy's target of 33,970–42,465
          trainee-times over three years (固原市人民政府办公室 实施意见, 2018-12-17) — and about
          280,000 intents: ~5 s of planning, ~10 s of streaming, flat memory while streaming.

Where the numbers come from
---------------------------
- Counties' shares of trainees follow the size of their registered poor populations (西吉 the
  largest, 泾源 the smallest): 原州 22 %, 西吉 30 %, 隆德 16 %, 泾源 13 %, 彭阳 19 %.
- Class starts follow the farming calendar (most training in the slack seasons, March–May and
  October–December), pause around the Spring Festival, and stop from mid-January to late April
  2020 (COVID-19), with a catch-up in May–August 2020. Every money trail ends by 2020-12-28, so
  no ``at`` lies past 2020 and no claim is left unpaid at the end.
- Class standards follow the policy §4(3) and NX: at most 50 trainees (30–45 usual), 20–30
  calendar days for employment_skill / special_ability, 8 class-hours a day (2 theory + 6
  practical in the middle of a course, 3+5 at the start, 1+7 at the end: 75 % practical);
  ages 16–60 (most 25–50), drivers under 50. Drivers train 5 days a week for 6–8 weeks,
  two-after students (两后生) on working days for about two months.
- Subsidy standards (``SubsidyStandardSet``, effective 2018-01-01, the policy's "five
  unifications"): training_completion 800 yuan per trainee; special_ability 1,200; vocational
  qualification 1,500–2,000 by occupation (挖掘机/装载机 2,000, 焊工 1,800, 中式烹调师 and
  养老护理员 1,500); two-after students 2,000; driving licence 3,000; appraisal 200 (qualification)
  or 150 (special ability); employer subsidy 1,000 per labourer employed six months; living
  allowance 30 yuan a day attended. Occupation-specific standards are *more specific* than the
  programme-wide ones: a rule picks the most specific match (occupation, then certificate type,
  then programme).
- About 90 % pass appraisal (88 % the driving test), 2 % withdraw, 3 % of class-days are
  missed; 35 % of classes pay a living allowance (one claim per labourer, paid to the labourer's
  own account); about 10 % of classes are order training (订单培训) for an employer who hires half
  the class, and 5 % of other certified labourers find subsidised jobs.

Intents
-------
``{"actor", "type", "at", "body", "nonce"}`` (+ ``pii``). ``at`` is the business time of the
action in Asia/Shanghai (+08:00, no daylight saving since 1991); attendance, inspections,
certificates, payments are signed on their business date, payroll within five days of the
month's end. ``nonce`` = ``f"sim-{seed}-{n:08d}"`` in stream order.

Placeholders the signing step fills (DESIGN §7):

- ``LaborerRegistered``: ``body.id_fingerprint`` and ``body.pii_commitment`` are ``""``;
  ``pii`` = ``{name, id_number, phone, bank_account}``. ID numbers are 18 characters with a
  valid ISO 7064 MOD 11-2 check digit, the county's code and the birth date; the 17th digit
  is odd for men. Bank cards are 19 digits with a Luhn check digit.
- ``SubsidyClaimed`` and ``PaymentDisbursed``: ``body.payee_account`` is ``""``; ``pii`` =
  ``{bank_account}`` — the labourer's own card for living allowances, the organisation's stable
  account (17 digits) for training, appraisal and employer claims.
- ``KeyRevoked`` (only with injected ``TIME-SIGNED-AFTER-REVOCATION``): ``body.key_id`` is
  ``""`` and a top-level ``"key_of": actor_id`` asks the lead to fill the actor's current key
  id. It is always the very last intent, so the revoked key signs nothing afterwards.

Injected misuse
---------------
With ``misuse_rate > 0`` (scales small and city) one case of *every* rule id of RULES.md is
injected, plus ``round(misuse_rate × classes)`` further cases drawn from the common kinds
(ghost trainees, inflated lines, short courses, …). ``truth`` lists each case with the subject
RULES.md fixes for that rule (for ``laborer`` subjects ``laborer_id`` equals the subject id;
for rules without "+ laborer", ``laborer_id`` is None). ``NET-SHARED-ACCOUNT``'s subject is a
payee HMAC the simulator cannot compute: its id is ``"raw:" + account number`` for the lead to
map. ``expected_knock_on`` lists the further flags an injected case legitimately causes (e.g. a
payment without approval is also overpaid against an approved total of 0); it is generous on
purpose — listing a flag that does not arise costs nothing, missing one costs precision.

The cases are realistic frauds and slips: ghost trainees enrolled, certified and paid without
ever signing in (虚报冒领); signing in for absent trainees (代签到) caught by spot checks or
phone visits; a class of 52–56; a course squeezed into 12–16 days, half days, lectures instead
of practice; a driver trainee aged 51–54, a farmer of 61–64; a certificate issued before the
course ended; the same person registered twice, trained twice in one occupation, trained in
two classes at once, or recycled through three classes of one school; a claim filed twice or
split; a failed trainee paid on a borrowed, invented or training-completion certificate; a
non-poor trainee paid from the poverty fund; an unconfirmed identity approved anyway; lines
above the standard; approvals above the claim; payments twice, without approval, above the
approval, from the wrong fund, to the wrong card, on a holiday, or never (stale); three
households' living allowances on one card (代领); an employee who left after four months; an
order-training employee on the payroll months before the course (先上岗后培训); a fund paid
beyond its allocation; a school's signing key revoked as compromised from a past date. Some
end with ``FundsRecovered`` citing the anomaly id and an inspector's ``AnomalyDisposed``.

A clean run (``misuse_rate=0``) is consistent with every rule: registration and identity
confirmation before enrolment, approval before enrolment, attendance inside the class,
inspections listing exactly that day's attendance, certificates after the last attendance day,
review before approval, approval equal to the claim, payment equal to the approval from a fund
of the claim's purpose, county and value-date year, 5–40 days after approval, on a working day
(``ledger.domain.holidays``), funds allocated in January before any payment and never overdrawn.
One caveat: a bank return (``PaymentReturned``) is followed by a re-payment of the same amount
to the same account, so ``DUP-PAYMENT`` must leave returned payments out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ledger.domain.holidays import is_holiday, is_makeup_workday, is_working_day, next_working_day

__all__ = ["RULE_IDS", "ActorSpec", "InjectedCase", "Simulation", "simulate"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

RULE_IDS: tuple[str, ...] = (
    "DUP-LABORER", "DUP-CLAIM-LINE", "DUP-CERTIFICATE", "DUP-PAYMENT", "DUP-REPEAT-TRAINING",
    "SEQ-PAID-WITHOUT-APPROVAL", "SEQ-PAID-WITHOUT-ATTENDANCE", "SEQ-PAID-WITHOUT-CERTIFICATE",
    "SEQ-PAID-WITHOUT-REVIEW", "SEQ-PAID-WITHOUT-IDENTITY", "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS",
    "SEQ-BEFORE-APPROVAL",
    "STD-CLASS-SIZE", "STD-DURATION", "STD-DAILY-HOURS", "STD-PRACTICAL-SHARE",
    "STD-OVER-STANDARD", "STD-UNAPPRAISED",
    "ELIG-DRIVER-AGE", "ELIG-AGE-RANGE", "ELIG-NOT-POOR",
    "CONF-INSPECTION-ABSENT", "CONF-HEADCOUNT", "CONF-DOUBLE-PRESENCE", "CONF-AFTER-WITHDRAWAL",
    "CONF-VISIT-DENIAL", "CONF-EMPLOYED-BEFORE-TRAINING",
    "NET-SHARED-ACCOUNT", "NET-RECYCLED-TRAINEE", "SOD-REVIEWER-ONLY-CHECK",
    "TIME-BACKDATED", "TIME-CERT-BEFORE-END", "TIME-WEEKEND-PAYMENT", "TIME-STALE-CLAIM",
    "TIME-SIGNED-AFTER-REVOCATION",
    "FIN-OVERPAID", "FIN-APPROVED-OVER-CLAIM", "FIN-FUND-OVERDRAWN", "FIN-FUND-MISMATCH",
    "FIN-PAYEE-MISMATCH", "FIN-SPLIT-CLAIM",
    "INSP-UNINSPECTED", "INSP-FAILED-PAID",
)  # fmt: skip


# ================================================================================================
# Public types
# ================================================================================================
@dataclass(frozen=True)
class ActorSpec:
    """An organisation to register (``actor add``); the genesis ``admin`` is not listed."""

    actor_id: str
    role: str
    jurisdiction: str
    name: str
    uscc: str | None = None


@dataclass(frozen=True)
class InjectedCase:
    """One injected finding: the flag RULES.md should raise (rule, subject, labourer)."""

    rule: str
    subject_kind: str
    subject_id: str
    laborer_id: str | None
    note: str


@dataclass
class Simulation:
    """The simulated world: its actors, its injected truth, and its intents (streamed)."""

    actors: list[ActorSpec]
    truth: list[InjectedCase]
    expected_knock_on: list[InjectedCase]
    scale: str = "small"
    seed: int = 2019
    _plan: _Plan | None = field(default=None, repr=False, compare=False)
    _progress: Callable[[int], None] | None = field(default=None, repr=False, compare=False)
    _count: int | None = field(default=None, repr=False, compare=False)

    def intents(self) -> Iterator[dict[str, Any]]:
        """Every intent in import order; deterministic for a seed; a generator (flat memory)."""
        assert self._plan is not None
        n = 0
        for n, intent in enumerate(self._plan.stream(), start=1):
            yield intent
            if self._progress is not None and n % 1000 == 0:
                self._progress(n)
        if self._progress is not None and n % 1000 != 0:
            self._progress(n)
        self._count = n

    def count(self) -> int:
        """The number of intents, without merging or holding the stream."""
        if self._count is None:
            assert self._plan is not None
            self._count = self._plan.count()
        return self._count


def simulate(
    scale: str = "small",
    seed: int = 2019,
    misuse_rate: float = 0.03,
    progress: Callable[[int], None] | None = None,
) -> Simulation:
    """Plan a world for ``scale`` ("tiny", "small", "city") and return its :class:`Simulation`.

    Planning is eager (classes, labourers, claims: a few MB at city scale); intents are built
    lazily, entity by entity, when :meth:`Simulation.intents` is iterated.
    """
    if scale not in _SCALES:
        raise ValueError(f"unknown scale {scale!r}: expected one of {sorted(_SCALES)}")
    if not 0 <= misuse_rate <= 1:
        raise ValueError("misuse_rate must lie between 0 and 1")
    plan = _Plan(_SCALES[scale], seed, misuse_rate)
    plan.build()
    return Simulation(
        actors=list(plan.actors),
        truth=list(plan.truth),
        expected_knock_on=list(plan.knock_on),
        scale=scale,
        seed=seed,
        _plan=plan,
        _progress=progress,
    )


# ================================================================================================
# Reference data
# ================================================================================================
D = dt.date
DAY = dt.timedelta(days=1)
CITY = "640400"

# code: (name, share of trainees, townships (乡镇) — real names, urban 街道 left out)
_COUNTIES: dict[str, tuple[str, float, list[str]]] = {
    "640402": ("原州区", 0.22, ["三营镇", "官厅镇", "开城镇", "张易镇", "彭堡镇", "头营镇", "黄铎堡镇",
                            "中河乡", "河川乡", "炭山乡", "寨科乡"]),
    "640422": ("西吉县", 0.30, ["吉强镇", "兴隆镇", "平峰镇", "新营乡", "红耀乡", "田坪乡", "马建乡",
                            "震湖乡", "兴平乡", "西滩乡", "王民乡", "什字乡", "马莲乡", "将台堡镇",
                            "硝河乡", "偏城乡", "沙沟乡", "白崖乡", "火石寨乡"]),
    "640423": ("隆德县", 0.16, ["城关镇", "沙塘镇", "联财镇", "神林乡", "观庄乡", "杨河乡", "陈靳乡",
                            "好水乡", "张程乡", "凤岭乡", "山河乡", "温堡乡", "奠安乡"]),
    "640424": ("泾源县", 0.13, ["香水镇", "泾河源镇", "六盘山镇", "新民乡", "兴盛乡", "黄花乡",
                            "大湾乡"]),
    "640425": ("彭阳县", 0.19, ["白阳镇", "王洼镇", "古城镇", "红河镇", "新集乡", "城阳乡", "孟塬乡",
                            "罗洼乡", "交岔乡", "草庙乡", "冯庄乡", "小岔乡"]),
}  # fmt: skip
_TOWNSHIP_ACTORS = 6  # the first N townships of each county sign their own registrations

_VILLAGE_STEMS = (  # noqa: SIM905 — a readable list of village-name stems
    "红星 新庄 王庄 李沟 大湾 杨河 张堡 石岔 马莲 白岔 阳洼 黑城 南湾 北山 上店 下店 庙湾 苏堡 何川 沙岗 "
    "古湾 双河 龙泉 泉湾 羊路 芦子 坪乐 上黄 下黄 红旗 团结 新华 联合 前进 丰收 金星 东坡 西沟 北庄 后河 "
    "堡子 吴庄 冯庄 陈堡 刘湾 韩塬 柳沟 姚套 火家 吊岔 大坪 油坊 水沟 三合 大庄 高台 崖窑 店洼 甘沟 草滩 "
    "杏树 梨树 桃园 花园 马岔 田堡 海子 山庄 蒿店 麻子 套子 明台 红崖 车路 孙庄 蔡川 阴洼 寨子 牛营 东山"
).split()

_SURNAMES = (
    ("马", 14), ("王", 8), ("李", 7), ("杨", 6), ("张", 6), ("刘", 4), ("海", 3), ("田", 3),
    ("苏", 3), ("何", 3), ("陈", 3), ("赵", 3), ("周", 2), ("丁", 2), ("虎", 2), ("穆", 2),
    ("白", 2), ("冯", 2), ("罗", 2), ("郭", 2), ("吴", 2), ("韩", 2), ("金", 1), ("黑", 1),
    ("摆", 1), ("兰", 1), ("祁", 1), ("魏", 1), ("任", 1), ("余", 1), ("拓", 1), ("禹", 1),
    ("梁", 1), ("贺", 1), ("沙", 1), ("米", 1), ("锁", 1), ("康", 1), ("秦", 1), ("汪", 1),
)  # fmt: skip
_SURNAME_CHARS = [s for s, _ in _SURNAMES]
_SURNAME_CUM = [sum(w for _, w in _SURNAMES[: i + 1]) for i in range(len(_SURNAMES))]
_MALE_CHARS = "军强伟明刚平林海成文武福贵忠国建东斌俊宏有德学山龙虎彪杰勇涛鹏飞兵辉新生荣志华峰亮宝清义仁礼智信玉祥宁旺喜存良顺发贤"
_FEMALE_CHARS = "花兰霞梅芳娟燕红萍英琴丽秀玲艳凤翠珍桂莲娥慧静娜雪婷琳丹敏彩菊香云月春叶瑞"
_HUI_MALE = ("尔萨", "穆萨", "伊斯", "哈桑", "尤努斯", "阿里", "撒拉")
_HUI_FEMALE = ("法图麦", "阿伊莎", "麦燕", "哈蒂佳", "麦麦")
_PHONE_PREFIXES = ("139", "138", "137", "136", "135", "150", "151", "152", "157", "158", "159",
                   "182", "183", "187", "188", "130", "131", "132", "155", "156", "185", "186",
                   "133", "153", "180", "189", "177", "181")  # fmt: skip
_CARD_BINS = ("622848", "621799", "621700", "623059")  # 农行, 邮储, 建行, 黄河农商 (plausible)


@dataclass(frozen=True)
class _Occ:
    """An occupation the policy names, with its programme and certificate."""

    code: str
    name: str
    programme: str
    in_catalog: bool
    cert_type: str
    level: str | None
    female: float
    sector: str
    position: str
    weight: float
    min_age: int
    max_age: int
    mode_age: int


_OCCS: dict[str, _Occ] = {o.code: o for o in (
    _Occ("EXC", "挖掘机驾驶员", "employment_skill", True, "vocational_qualification", "五级", 0.03,
         "construction", "挖掘机操作员", 9, 18, 55, 32),
    _Occ("LDR", "装载机驾驶员", "employment_skill", True, "vocational_qualification", "五级", 0.03,
         "construction", "装载机操作员", 4, 18, 55, 33),
    _Occ("WLD", "焊工", "employment_skill", True, "vocational_qualification", "五级", 0.05,
         "manufacturing", "电焊工", 5, 18, 55, 32),
    _Occ("CHF", "中式烹调师", "employment_skill", True, "vocational_qualification", "五级", 0.45,
         "catering", "厨师", 9, 18, 55, 35),
    _Occ("ELD", "养老护理员", "employment_skill", True, "vocational_qualification", "五级", 0.85,
         "care", "养老护理员", 7, 20, 57, 42),
    _Occ("EMB", "刺绣", "special_ability", False, "special_ability", None, 0.97,
         "embroidery", "刺绣工", 12, 18, 57, 38),
    _Occ("SNK", "宁夏小吃", "special_ability", False, "special_ability", None, 0.6,
         "catering", "面点师", 7, 18, 55, 35),
    _Occ("MAT", "月嫂", "special_ability", False, "special_ability", None, 1.0,
         "care", "母婴护理员", 6, 20, 52, 38),
    _Occ("NAN", "保姆", "employment_skill", False, "training_completion", None, 0.95,
         "care", "保姆", 4, 20, 55, 40),
    _Occ("HSK", "家政服务", "employment_skill", False, "training_completion", None, 0.8,
         "care", "家政服务员", 5, 18, 55, 38),
    _Occ("CAT", "肉牛养殖", "employment_skill", False, "training_completion", None, 0.3,
         "agriculture", "养殖工", 5, 20, 57, 42),
    _Occ("PTT", "马铃薯种植", "employment_skill", False, "training_completion", None, 0.4,
         "agriculture", "种植工", 3, 20, 57, 43),
    _Occ("DRV", "机动车驾驶", "driver", False, "driving_licence", "C1", 0.15,
         "transport", "驾驶员", 10, 18, 48, 30),
    _Occ("ELC", "电工", "two_after_student", True, "vocational_qualification", "五级", 0.05,
         "manufacturing", "电工", 2, 16, 21, 17),
    _Occ("AUT", "汽车维修工", "two_after_student", True, "vocational_qualification", "五级", 0.05,
         "transport", "汽车维修工", 2, 16, 21, 17),
    _Occ("BAK", "西式面点师", "two_after_student", True, "vocational_qualification", "五级", 0.6,
         "catering", "面点师", 1.5, 16, 21, 17),
)}  # fmt: skip

_CERT_ABBR = {"vocational_qualification": "VQ", "special_ability": "SA",
              "training_completion": "TC", "driving_licence": "DL"}  # fmt: skip
_PROG_ABBR = {"employment_skill": "ES", "special_ability": "SA", "driver": "DRV",
              "two_after_student": "TAS"}  # fmt: skip

# (standard_id, kind, programme, certificate_type, occupation, amount_fen, per)
_STANDARDS: list[tuple[str, str, str | None, str | None, str | None, int, str]] = [
    ("STD-TRN-ES-TC", "training", "employment_skill", "training_completion", None, 80000, "trainee"),
    ("STD-TRN-SA-TC", "training", "special_ability", "training_completion", None, 80000, "trainee"),
    ("STD-TRN-TAS-TC", "training", "two_after_student", "training_completion", None, 80000, "trainee"),
    ("STD-TRN-SA-SA", "training", "special_ability", "special_ability", None, 120000, "trainee"),
    ("STD-TRN-ES-VQ-EXC", "training", "employment_skill", "vocational_qualification", "挖掘机驾驶员", 200000, "trainee"),
    ("STD-TRN-ES-VQ-LDR", "training", "employment_skill", "vocational_qualification", "装载机驾驶员", 200000, "trainee"),
    ("STD-TRN-ES-VQ-WLD", "training", "employment_skill", "vocational_qualification", "焊工", 180000, "trainee"),
    ("STD-TRN-ES-VQ-CHF", "training", "employment_skill", "vocational_qualification", "中式烹调师", 150000, "trainee"),
    ("STD-TRN-ES-VQ-ELD", "training", "employment_skill", "vocational_qualification", "养老护理员", 150000, "trainee"),
    ("STD-TRN-TAS-VQ", "training", "two_after_student", "vocational_qualification", None, 200000, "trainee"),
    ("STD-TRN-DRV-DL", "training", "driver", "driving_licence", None, 300000, "trainee"),
    ("STD-APR-VQ", "appraisal", None, "vocational_qualification", None, 20000, "trainee"),
    ("STD-APR-SA", "appraisal", None, "special_ability", None, 15000, "trainee"),
    ("STD-EMP", "employer", None, None, None, 100000, "trainee"),
    ("STD-LA", "living_allowance", None, None, None, 3000, "day"),
]  # fmt: skip
_APPRAISAL_FEN = {"vocational_qualification": 20000, "special_ability": 15000}
_EMPLOYER_FEN = 100000
_LA_PER_DAY_FEN = 3000


def _training_fen(occ: _Occ, cert_type: str) -> int:
    """The training standard in force for a line (most specific match wins)."""
    if cert_type == "training_completion":
        return 80000
    if occ.programme == "employment_skill":
        return {"EXC": 200000, "LDR": 200000, "WLD": 180000, "CHF": 150000, "ELD": 150000}[occ.code]
    return {"special_ability": 120000, "two_after_student": 200000, "driver": 300000}[occ.programme]


# Institutions: (actor id, name, jurisdiction, USCC kind, occupations taught)
_GENERAL = {"CHF", "ELD", "EMB", "SNK", "HSK", "NAN", "CAT", "PTT", "MAT"}
_PRIVATE = {"EMB", "SNK", "MAT", "NAN", "HSK", "ELD", "CAT", "PTT"}
_INSTITUTIONS: list[tuple[str, str, str, str, frozenset[str]]] = [
    ("inst-640400-01", "固原市技工学校", CITY, "12", frozenset({"EXC", "LDR", "WLD", "CHF", "ELC", "AUT", "BAK"})),
    ("inst-640400-02", "宁夏民族职业技术学院", CITY, "12", frozenset({"ELD", "CHF", "BAK", "ELC", "MAT"})),
    ("inst-640400-03", "固原市金盾机动车驾驶员培训有限公司", CITY, "91", frozenset({"DRV"})),
    ("inst-640402-01", "固原市原州区职业技术学校", "640402", "12", frozenset(_GENERAL | {"WLD"})),
    ("inst-640402-02", "固原市原州区宏达职业技能培训学校", "640402", "52", frozenset(_PRIVATE)),
    ("inst-640402-03", "固原市原州区安达机动车驾驶员培训有限公司", "640402", "91", frozenset({"DRV"})),
    ("inst-640422-01", "西吉县职业技术学校", "640422", "12", frozenset(_GENERAL | {"EXC", "LDR", "WLD"})),
    ("inst-640422-02", "西吉县富民职业技能培训学校", "640422", "52", frozenset(_PRIVATE)),
    ("inst-640422-03", "西吉县顺达机动车驾驶员培训有限公司", "640422", "91", frozenset({"DRV"})),
    ("inst-640423-01", "隆德县职业技术学校", "640423", "12", frozenset(_GENERAL | {"EXC", "LDR"})),
    ("inst-640423-02", "隆德县六盘山职业技能培训学校", "640423", "52", frozenset(_PRIVATE)),
    ("inst-640423-03", "隆德县通达机动车驾驶员培训有限公司", "640423", "91", frozenset({"DRV"})),
    ("inst-640424-01", "泾源县职业技术学校", "640424", "12", frozenset(_GENERAL)),
    ("inst-640424-02", "泾源县泾河源职业技能培训中心", "640424", "52", frozenset(_PRIVATE)),
    ("inst-640425-01", "彭阳县职业技术学校", "640425", "12", frozenset(_GENERAL | {"EXC", "WLD"})),
    ("inst-640425-02", "彭阳县阳光职业技能培训学校", "640425", "52", frozenset(_PRIVATE)),
    ("inst-640425-03", "彭阳县畅通机动车驾驶员培训有限公司", "640425", "91", frozenset({"DRV"})),
]  # fmt: skip

# Employers and 扶贫车间 per county: (name, sector, USCC kind)
_EMPLOYERS: dict[str, list[tuple[str, str, str]]] = {
    "640402": [("固原市原州区三营镇刺绣扶贫车间", "embroidery", "91"),
               ("宁夏六盘山家政服务有限公司", "care", "91"),
               ("固原市宏建建筑工程有限公司", "construction", "91"),
               ("固原市原州区清河餐饮管理有限公司", "catering", "91"),
               ("固原市原州区头营镇肉牛养殖专业合作社", "agriculture", "93"),
               ("固原市顺通物流有限公司", "transport", "91"),
               ("固原市鑫源机械制造有限公司", "manufacturing", "91")],
    "640422": [("西吉县吉强镇龙王坝村刺绣扶贫车间", "embroidery", "91"),
               ("西吉县众鑫家政服务有限公司", "care", "91"),
               ("西吉县宏达建筑工程有限公司", "construction", "91"),
               ("西吉县回味餐饮管理有限公司", "catering", "91"),
               ("西吉县聚丰肉牛养殖专业合作社", "agriculture", "93"),
               ("西吉县兴运物流有限公司", "transport", "91"),
               ("西吉县将台堡镇服装加工扶贫车间", "manufacturing", "91")],
    "640423": [("隆德县沙塘镇刺绣扶贫车间", "embroidery", "91"),
               ("隆德县福康养老服务中心", "care", "52"),
               ("隆德县六盘山建筑工程有限公司", "construction", "91"),
               ("隆德县老巷子餐饮有限公司", "catering", "91"),
               ("隆德县神林乡中药材种植专业合作社", "agriculture", "93"),
               ("隆德县宏运汽车运输有限公司", "transport", "91")],
    "640424": [("泾源县香水镇刺绣扶贫车间", "embroidery", "91"),
               ("泾源县泾河源家政服务有限公司", "care", "91"),
               ("泾源县六盘山旅游餐饮有限公司", "catering", "91"),
               ("泾源县黄牛养殖专业合作社", "agriculture", "93"),
               ("泾源县路通建筑工程有限公司", "construction", "91")],
    "640425": [("彭阳县白阳镇刺绣扶贫车间", "embroidery", "91"),
               ("彭阳县安馨家政服务有限公司", "care", "91"),
               ("彭阳县宏鑫建筑工程有限公司", "construction", "91"),
               ("彭阳县梯田人家餐饮有限公司", "catering", "91"),
               ("彭阳县红河镇肉牛养殖专业合作社", "agriculture", "93"),
               ("彭阳县恒通物流有限公司", "transport", "91"),
               ("彭阳县新集乡服装加工扶贫车间", "manufacturing", "91")],
}  # fmt: skip
_WAGE_YUAN = {"embroidery": (1800, 2600), "care": (2600, 4500), "construction": (4000, 6500),
              "catering": (2500, 3800), "agriculture": (2000, 3000), "transport": (3500, 5500),
              "manufacturing": (3000, 4500)}  # fmt: skip

# ---- scale configuration -----------------------------------------------------------------------
# Month weights of class starts (city). January–April 2020: Spring Festival and COVID-19.
_CITY_MONTHS: dict[tuple[int, int], int] = {
    (2019, 1): 2, (2019, 2): 1, (2019, 3): 6, (2019, 4): 7, (2019, 5): 6, (2019, 6): 4,
    (2019, 7): 3, (2019, 8): 3, (2019, 9): 4, (2019, 10): 6, (2019, 11): 7, (2019, 12): 3,
    (2020, 4): 1, (2020, 5): 7, (2020, 6): 8, (2020, 7): 7, (2020, 8): 3,
}  # fmt: skip
_BLACKOUTS = ((D(2019, 1, 26), D(2019, 2, 17)), (D(2020, 1, 15), D(2020, 4, 26)))

# Small scale: three waves of classes (occupation, institution, order-training employer index).
_SMALL_WAVES: list[tuple[D, list[tuple[str, str, int | None]]]] = [
    (D(2019, 3, 4), [("EXC", "inst-640400-01", None), ("EMB", "inst-640422-02", None),
                     ("CHF", "inst-640422-01", None), ("DRV", "inst-640422-03", None),
                     ("HSK", "inst-640422-02", None), ("ELD", "inst-640400-02", None),
                     ("CAT", "inst-640422-01", None)]),
    (D(2019, 4, 8), [("SNK", "inst-640422-02", None), ("LDR", "inst-640400-01", None),
                     ("NAN", "inst-640422-02", None), ("MAT", "inst-640422-02", 1),
                     ("WLD", "inst-640422-01", None), ("DRV", "inst-640422-03", None),
                     ("ELC", "inst-640400-01", None)]),
    (D(2019, 5, 13), [("EMB", "inst-640422-02", 0), ("ELD", "inst-640422-01", None),
                      ("HSK", "inst-640422-01", None), ("PTT", "inst-640422-02", None),
                      ("DRV", "inst-640422-03", None), ("CHF", "inst-640400-01", None),
                      ("SNK", "inst-640422-01", 3)]),
]  # fmt: skip


@dataclass(frozen=True)
class _Scale:
    name: str
    counties: tuple[str, ...]
    reg_start: D
    end: D  # nothing (business date or ``at``) after this day
    last_payroll: tuple[int, int]
    target: int  # trainee-times
    roster: tuple[int, int]
    stale_before: D  # an injected stale claim is approved before this day
    la_share: float
    order_share: float
    hire_share: float


_SCALES: dict[str, _Scale] = {
    "tiny": _Scale("tiny", ("640422",), D(2019, 1, 7), D(2020, 4, 30), (2020, 2), 30, (30, 30),
                   D(2019, 12, 31), 1.0, 1.0, 0.05),
    "small": _Scale("small", ("640422",), D(2019, 1, 7), D(2020, 6, 30), (2020, 3), 600, (26, 36),
                    D(2019, 12, 31), 0.45, 0.0, 0.08),
    "city": _Scale("city", tuple(_COUNTIES), D(2018, 12, 19), D(2020, 12, 28), (2020, 11), 40000,
                   (30, 45), D(2020, 8, 31), 0.35, 0.10, 0.05),
}  # fmt: skip


# ================================================================================================
# Small helpers: identifiers with check digits, dates
# ================================================================================================
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_digit(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character of a resident ID number."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def luhn_digit(body: str) -> str:
    """The Luhn check digit to append to ``body`` (bank cards)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _uscc(kind: str, region: str, actor_id: str) -> str:
    """A GB 32100 unified social credit code with valid GB 11714 and GB 32100 check characters.

    ``kind`` is the first two characters: 11 机关, 12 事业单位, 52 民办非企业单位, 91 企业,
    93 农民专业合作社. Companies founded after 2015 carry "MA" organisation codes.
    """
    r = random.Random("uscc:" + actor_id)
    if kind in ("91", "93", "52"):
        body = "MA7" + "".join(r.choice(_USCC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(5))
    else:
        body = "".join(r.choice("0123456789") for _ in range(8))
    s = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    c9 = 11 - s % 11
    org = body + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    first17 = kind + region + org
    t = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return first17 + _USCC_CHARS[(31 - t % 31) % 31]


def _org_account(actor_id: str) -> str:
    """A stable 17-digit corporate account (对公账户) for an organisation."""
    r = random.Random("acct:" + actor_id)
    return "2905" + "".join(str(r.randrange(10)) for _ in range(13))


def anomaly_id(rule: str, kind: str, subject_id: str, laborer_id: str | None) -> str:
    """RULES.md: "A-" + SHA-256(JCS({rule, subject, laborer_id}))[:40] (ASCII keys: sorted dumps)."""
    doc = {"rule": rule, "subject": {"kind": kind, "id": subject_id}, "laborer_id": laborer_id}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "A-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _add_years(d: D, years: int) -> D:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def age_at(birth: D, day: D) -> int:
    """Completed years (RULES.md's definition of age)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _month_end(y: int, m: int) -> D:
    return D(y + m // 12, m % 12 + 1, 1) - DAY


def _next_month(y: int, m: int) -> tuple[int, int]:
    return (y + 1, 1) if m == 12 else (y, m + 1)


def _prev_working_day(d: D) -> D:
    while not is_working_day(d):
        d -= DAY
    return d


def _office_day(d: D, lo: D | None = None, hi: D | None = None) -> D:
    """The working day nearest after ``d`` (or before, or ``d`` itself) inside ``[lo, hi]``."""
    after = next_working_day(d)
    if hi is None or after <= hi:
        return after
    before = _prev_working_day(d)
    return before if lo is None or before >= lo else d


def _teaching_day(d: D, programme: str) -> bool:
    """Whether a class of ``programme`` meets on ``d`` (no classes on public holidays)."""
    if is_holiday(d):
        return False
    if programme in ("employment_skill", "special_ability"):
        return d.weekday() != 6 or is_makeup_workday(d)  # Monday–Saturday
    if programme == "driver":
        return d.weekday() in (0, 1, 3, 4, 5)  # five days a week, Wednesday off
    return is_working_day(d)  # two-after students follow the school week


# ================================================================================================
# Plan records
# ================================================================================================
@dataclass(eq=False)
class _Lab:
    lid: str
    hh: _Household
    birth: D
    gender: str
    category: str
    name: str
    id_number: str
    phone: str
    account: str
    classes: list[str] = field(default_factory=list)
    occupations: set[str] = field(default_factory=set)
    last_day: D | None = None
    confirm: bool = True
    rejected: bool = False
    tainted: bool = False
    employed: bool = False
    correction: tuple[D, str] | None = None


@dataclass(eq=False)
class _Household:
    hid: str
    county: str
    township: str
    village: str
    registrar: str
    category: str
    members: list[_Lab] = field(default_factory=list)
    first_use: D | None = None
    reg: D | None = None
    confirm: D | None = None


@dataclass(eq=False)
class _Cert:
    no: str
    ctype: str
    level: str | None
    issuer: str
    issued_on: D
    lid: str


@dataclass(eq=False)
class _Insp:
    iid: str
    method: str
    actor: str
    date: D
    subject_kind: str
    subject_id: str
    class_id: str | None
    checklist: dict[str, bool] | None
    findings: list[dict[str, Any]]
    verdict: str
    day_index: int | None = None  # attendance day it observes (site visits, spot checks)
    missing: frozenset[str] = frozenset()  # present in attendance, in neither list
    marked_absent: frozenset[str] = frozenset()  # present in attendance, listed absent


@dataclass(eq=False)
class _Line:
    lid: str
    amount: int | None  # None: a living allowance, computed from the days attended
    cert: str | None = None
    emp: str | None = None


@dataclass(eq=False)
class _Pay:
    pid: str
    fund: str
    value: D
    bank_ref: str
    amount: int | None = None  # None: the approved total (or the claimed one, unapproved)
    delta: int = 0
    account: str | None = None  # None: the claim's account
    returned: tuple[D, str] | None = None


@dataclass(eq=False)
class _Claim:
    cid: str
    kind: str
    claimant: str
    class_id: str | None
    jur: str
    lines: list[_Line]
    account: str
    date: D
    verify: D | None = None
    verify_rejected: list[str] = field(default_factory=list)
    approve: D | None = None
    approve_override: dict[str, int] = field(default_factory=dict)
    reject: tuple[D, str] | None = None
    payments: list[_Pay] = field(default_factory=list)
    recoveries: list[tuple[str, D, int, str, str | None]] = field(default_factory=list)
    disposals: list[tuple[D, str, str]] = field(default_factory=list)
    pdas: list[tuple[D, str, str, str]] = field(default_factory=list)  # date, actor, lid, purpose
    slot: str | None = None

    def total(self) -> int:
        return sum(line.amount or 0 for line in self.lines)

    def approved_lines(self) -> list[tuple[str, int]]:
        return [(ln.lid, self.approve_override.get(ln.lid, ln.amount or 0)) for ln in self.lines]


@dataclass(eq=False)
class _Class:
    cid: str
    county: str
    inst: str
    occ: _Occ
    site: str
    start: D
    days: list[D]
    hours: list[tuple[int, int]]
    planned_end: D
    request: D
    approve: D
    capacity: int = 50
    la: bool = False
    employer: str | None = None
    state: str = "normal"  # normal / rejected / cancelled
    cancel: tuple[D, str, str] | None = None
    roster: list[str] = field(default_factory=list)
    enrol: dict[str, D] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)
    ghosts: set[str] = field(default_factory=set)
    withdrawn: dict[str, D] = field(default_factory=dict)
    keep_after_withdrawal: set[str] = field(default_factory=set)
    absences: dict[int, set[str]] = field(default_factory=dict)
    attendance_delay: dict[int, int] = field(default_factory=dict)
    completers: list[str] = field(default_factory=list)
    certs: dict[str, _Cert] = field(default_factory=dict)
    extra_certs: list[_Cert] = field(default_factory=list)
    failures: dict[str, tuple[D, str]] = field(default_factory=dict)  # lid -> (date, signer)
    review: D | None = None
    inspections: list[_Insp] = field(default_factory=list)
    claims: list[_Claim] = field(default_factory=list)
    pdas: list[tuple[D, str, str, str]] = field(default_factory=list)
    pre_employed: dict[str, D] = field(default_factory=dict)
    slot: str | None = None
    claim_slot: str | None = None
    no_visits: bool = False

    @property
    def end(self) -> D:
        return self.days[-1]

    @property
    def programme(self) -> str:
        return self.occ.programme

    def present(self, i: int) -> list[str]:
        day = self.days[i]
        absent = self.absences.get(i, ())
        return [
            lid for lid in self.roster
            if lid not in self.ghosts and lid not in absent
            and not (lid in self.withdrawn and day >= self.withdrawn[lid]
                     and lid not in self.keep_after_withdrawal)
        ]  # fmt: skip

    def training_claim(self) -> _Claim | None:
        """The live training claim (the last one filed and not rejected)."""
        live = [c for c in self.claims if c.kind == "training" and c.reject is None and c.slot != "split"]
        return live[0] if live else None


@dataclass(eq=False)
class _Emp:
    eid: str
    employer: str
    county: str
    lid: str
    position: str
    start: D
    class_id: str | None
    payroll: list[tuple[int, int, int]]  # year, month, wage_fen
    proof: D | None = None
    proof_months: list[str] = field(default_factory=list)
    ended: D | None = None
    claimed: bool = False


@dataclass(eq=False)
class _Fund:
    fid: str
    jur: str
    purpose: str
    year: int
    need: int = 0
    allocations: list[tuple[D, str, str, int]] = field(default_factory=list)  # date, signer, source, fen
    adjustments: list[tuple[D, str, int, str]] = field(default_factory=list)
    overdrawn: bool = False


# Priorities order events that share a date inside one entity; _BASE gives their clock time.
(P_STD, P_FUND, P_REG, P_CONFIRM, P_CORRECT, P_REQUEST, P_CLS_APPROVE, P_CANCEL, P_WITHDRAW,
 P_ENROL, P_INSPECT, P_ATTEND, P_COMPLETE, P_FAIL, P_CERT, P_REVIEW, P_EMP, P_PROOF, P_CLAIM,
 P_REJECT, P_VERIFY, P_APPROVE, P_PAY, P_RETURN, P_RECOVER, P_PDA, P_VISIT, P_DISPOSE,
 P_RECON) = range(29)  # fmt: skip
_BASE: dict[int, int] = {
    P_STD: 9 * 3600, P_FUND: 9 * 3600 + 1800, P_REG: 9 * 3600, P_CONFIRM: 10 * 3600,
    P_CORRECT: 15 * 3600, P_REQUEST: 9 * 3600, P_CLS_APPROVE: 10 * 3600, P_CANCEL: 11 * 3600,
    P_WITHDRAW: 8 * 3600 + 1800, P_ENROL: 9 * 3600, P_INSPECT: 10 * 3600, P_ATTEND: 17 * 3600 + 1800,
    P_COMPLETE: 18 * 3600 + 1800, P_FAIL: 10 * 3600, P_CERT: 10 * 3600, P_REVIEW: 10 * 3600,
    P_EMP: 9 * 3600, P_PROOF: 10 * 3600, P_CLAIM: 9 * 3600, P_REJECT: 14 * 3600,
    P_VERIFY: 10 * 3600, P_APPROVE: 15 * 3600, P_PAY: 10 * 3600, P_RETURN: 14 * 3600,
    P_RECOVER: 15 * 3600, P_PDA: 11 * 3600, P_VISIT: 15 * 3600, P_DISPOSE: 16 * 3600,
    P_RECON: 16 * 3600,
}  # fmt: skip

# (business or signing date, priority, actor, type, body, pii or None)
_Raw = tuple[D, int, str, str, dict[str, Any], dict[str, Any] | None]
# (seconds since 0001-01-01 in +08:00, actor, type, body, pii or None)
_Timed = tuple[int, str, str, dict[str, Any], dict[str, Any] | None]


def _timed(raw: list[_Raw], rng: random.Random) -> list[_Timed]:
    """Give each event a clock time: by priority, strictly increasing within one date."""
    raw.sort(key=lambda e: (e[0], e[1]))  # stable: creation order breaks ties
    out: list[_Timed] = []
    last_day: D | None = None
    last_t = 0
    for day, prio, actor, typ, body, pii in raw:
        day0 = day.toordinal() * 86400
        t = day0 + _BASE[prio] + rng.randrange(0, 1500)
        if day == last_day and t <= last_t:
            t = last_t + rng.randrange(15, 75)
        t = min(t, day0 + 86399)
        out.append((t, actor, typ, body, pii))
        last_day, last_t = day, t
    return out


def _at(t: int) -> str:
    day = D.fromordinal(t // 86400)
    s = t % 86400
    return f"{day.isoformat()}T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}+08:00"


# ================================================================================================
# The plan
# ================================================================================================
class _Plan:
    def __init__(self, cfg: _Scale, seed: int, misuse_rate: float):
        self.cfg = cfg
        self.seed = seed
        self.misuse_rate = misuse_rate if cfg.name != "tiny" else 0.0
        self.rng = random.Random(f"sim:{seed}:{cfg.name}")
        self.actors: list[ActorSpec] = []
        self.truth: list[InjectedCase] = []
        self.knock_on: list[InjectedCase] = []
        self.labs: dict[str, _Lab] = {}
        self.households: list[_Household] = []
        self.classes: list[_Class] = []
        self.by_cid: dict[str, _Class] = {}
        self.emps: list[_Emp] = []
        self.emp_by_id: dict[str, _Emp] = {}
        self.emp_claims: list[_Claim] = []
        self.funds: dict[str, _Fund] = {}
        self.recons: list[tuple[D, str, str, int, int]] = []
        self.revocation: tuple[str, dt.datetime, str] | None = None
        self._counters: dict[str, int] = defaultdict(int)
        self._ids_used: set[str] = set()
        self._accounts_used: set[str] = set()
        self._phones_used: set[str] = set()
        self._pending: dict[tuple[str, str], list[_Lab]] = defaultdict(list)
        self._graduates: dict[str, list[_Lab]] = defaultdict(list)
        self._after_details: list[Callable[[], None]] = []
        self._after_employment: list[Callable[[], None]] = []
        self._dup_households: list[tuple[_Household, _Household]] = []  # (original, duplicate)
        self.townships: dict[str, list[tuple[str, list[str], str | None]]] = {}
        self.employers: dict[str, list[tuple[str, str]]] = defaultdict(list)  # county -> (id, sector)
        self.institutions: list[tuple[str, str, frozenset[str]]] = []

    # ---- ids -------------------------------------------------------------------------------
    def _next(self, key: str) -> int:
        self._counters[key] += 1
        return self._counters[key]

    # ---- build -----------------------------------------------------------------------------
    def build(self) -> None:
        self._actors()
        self._schedule()
        for cls in self.classes:
            if cls.state == "normal":
                self._fill_roster(cls)
        cases = self._choose_cases()
        self._run_cases(cases, phase="A")
        for cls in self.classes:
            if cls.state == "normal":
                self._details(cls)
        for fn in self._after_details:
            fn()
        self._run_cases(cases, phase="B")
        self._run_cases(cases, phase="C")
        self._employment()
        self._run_cases(cases, phase="D")
        for fn in self._after_employment:
            fn()
        self._finalize()
        self._collateral()
        self._run_cases(cases, phase="E")
        self._reconciliations()
        self._run_cases(cases, phase="F")

    # ---- actors ----------------------------------------------------------------------------
    def _actors(self) -> None:
        add = self.actors.append
        counties = self.cfg.counties
        for c in counties:
            cname, _, towns = _COUNTIES[c]
            add(
                ActorSpec(
                    f"hr-{c}", "hr_bureau", c, f"{cname}人力资源和社会保障局", _uscc("11", c, f"hr-{c}")
                )
            )
            add(
                ActorSpec(
                    f"pov-{c}", "poverty_office", c, f"{cname}扶贫开发办公室", _uscc("11", c, f"pov-{c}")
                )
            )
            add(ActorSpec(f"fin-{c}", "finance_bureau", c, f"{cname}财政局", _uscc("11", c, f"fin-{c}")))
            rows: list[tuple[str, list[str], str | None]] = []
            for i, town in enumerate(towns, start=1):
                actor: str | None = None
                if i <= _TOWNSHIP_ACTORS:
                    actor = f"tw-{c}-{i:03d}"
                    add(ActorSpec(actor, "township", c, f"{cname}{town}人民政府", _uscc("11", c, actor)))
                vr = random.Random("villages:" + c + town)
                villages = [s + "村" for s in vr.sample(_VILLAGE_STEMS, vr.randint(6, 10))]
                rows.append((town, villages, actor))
            self.townships[c] = rows
        for actor_id, name, jur, kind, occs in _INSTITUTIONS:
            if jur == CITY or jur in counties:
                region = jur if jur != CITY else "640402"
                add(ActorSpec(actor_id, "institution", jur, name, _uscc(kind, region, actor_id)))
                self.institutions.append((actor_id, jur, occs))
        for c in counties:
            for i, (name, sector, kind) in enumerate(_EMPLOYERS[c], start=1):
                actor_id = f"emp-{c}-{i:02d}"
                add(ActorSpec(actor_id, "employer", c, name, _uscc(kind, c, actor_id)))
                self.employers[c].append((actor_id, sector))
        add(
            ActorSpec(
                "hr-640400", "hr_bureau", CITY, "固原市人力资源和社会保障局", _uscc("11", "640400", "admin")
            )
        )
        add(
            ActorSpec(
                "fin-640400", "finance_bureau", CITY, "固原市财政局", _uscc("11", "640400", "fin-640400")
            )
        )
        add(
            ActorSpec(
                "apc-640400",
                "appraisal_center",
                CITY,
                "固原市职业技能鉴定中心",
                _uscc("12", "640400", "apc-640400"),
            )
        )
        add(
            ActorSpec(
                "traffic-640400",
                "traffic_authority",
                CITY,
                "固原市公安局交通警察支队车辆管理所",
                _uscc("11", "640400", "traffic-640400"),
            )
        )
        add(
            ActorSpec(
                "insp-640400", "inspector", CITY, "固原市纪委监委", _uscc("11", "640400", "insp-640400")
            )
        )
        add(ActorSpec("aud-640400", "inspector", CITY, "固原市审计局", _uscc("11", "640400", "aud-640400")))

    # ---- class schedule ---------------------------------------------------------------------
    def _days_for(self, programme: str, start: D, rng: random.Random) -> list[D]:
        if programme in ("employment_skill", "special_ability"):
            target = rng.randint(22, 28)
            spans = list(range(target, 19, -1)) + list(range(target + 1, 31))
        elif programme == "driver":
            target = rng.randint(42, 56)
            spans = list(range(target, 30, -1))
        else:
            target = rng.randint(50, 60)
            spans = list(range(target, 35, -1))
        for span in spans:
            last = start + (span - 1) * DAY
            if _teaching_day(last, programme):
                break
        return [start + i * DAY for i in range((last - start).days + 1)
                if _teaching_day(start + i * DAY, programme)]  # fmt: skip

    @staticmethod
    def _hours_for(programme: str, n: int) -> list[tuple[int, int]]:
        if programme == "driver":
            return [(5, 3) if i < 4 else (1, 6) for i in range(n)]
        if programme == "two_after_student":
            return [(4, 4) if i < 5 else (2, 6) for i in range(n)]
        return [(3, 5) if i < n * 0.2 else (1, 7) if i >= n * 0.8 else (2, 6) for i in range(n)]

    def _start_ok(self, start: D, days: list[D]) -> bool:
        if not days or days[0] != start:
            return False
        last = days[-1]
        if any(not (last < lo or start > hi) for lo, hi in _BLACKOUTS):
            return False
        return start >= self.cfg.reg_start + 25 * DAY and last + 118 * DAY <= self.cfg.end

    def _new_class(
        self, county: str, occ: _Occ, inst: str, start: D, size: int, employer: str | None, rng: random.Random
    ) -> _Class | None:
        days = self._days_for(occ.programme, start, rng)
        if not self._start_ok(start, days):
            return None
        request = _prev_working_day(start - rng.randint(14, 30) * DAY)
        approve = next_working_day(request + rng.randint(3, 8) * DAY)
        if approve > start - 3 * DAY:
            approve = _prev_working_day(start - 3 * DAY)
        cname, _, towns = _COUNTIES[county]
        inst_name = next(a.name for a in self.actors if a.actor_id == inst)
        if occ.programme == "driver":
            site = f"{inst_name}训练场"
        elif rng.random() < 0.6 or occ.programme == "two_after_student":
            site = f"{inst_name}{rng.choice(['实训楼', '实训基地', '培训中心'])}"
        else:
            town, villages, _ = rng.choice(self.townships[county])
            site = f"{cname}{town}{rng.choice(villages)}{rng.choice(['村委会', '村级活动场所', '扶贫车间'])}"
        cls = _Class(
            cid="",
            county=county,
            inst=inst,
            occ=occ,
            site=site,
            start=start,
            days=days,
            hours=self._hours_for(occ.programme, len(days)),
            planned_end=days[-1],
            request=request,
            approve=approve,
        )
        cls.capacity = min(50, (size + 4) // 5 * 5 + rng.choice([0, 0, 5]))
        cls.la = rng.random() < self.cfg.la_share
        cls.employer = employer
        cls.roster = [""] * size  # placeholder: the size, filled in start order
        return cls

    def _schedule(self) -> None:
        rng = self.rng
        if self.cfg.name == "city":
            self._schedule_city(rng)
        else:
            self._schedule_waves(rng)
        self.classes.sort(key=lambda c: (c.start, c.county, c.occ.code, c.inst, len(c.roster)))
        per: dict[tuple[int, str], int] = defaultdict(int)
        for cls in self.classes:
            per[(cls.start.year, cls.county)] += 1
            cls.cid = f"CLS-{cls.start.year}-{cls.county}-{per[(cls.start.year, cls.county)]:04d}"
            self.by_cid[cls.cid] = cls
        # a few requests rejected and approved classes cancelled (no enrolment)
        if self.cfg.name == "city":
            for cls in rng.sample(self.classes, max(1, len(self.classes) // 60)):
                cls.state = "rejected"
            for cls in rng.sample(
                [c for c in self.classes if c.state == "normal"], max(1, len(self.classes) // 80)
            ):
                cls.state = "cancelled"
                who = rng.choice([cls.inst, f"hr-{cls.county}"])
                cls.cancel = (
                    next_working_day(cls.approve + 2 * DAY),
                    who,
                    "报名人数不足，经协商取消开班" if who == cls.inst else "培训场地不符合要求，取消开班",
                )
            for cls in self.classes:
                if cls.state != "normal":
                    cls.roster = []

    def _pick_institution(self, county: str, occ: _Occ, rng: random.Random) -> str | None:
        local = [a for a, j, occs in self.institutions if j == county and occ.code in occs]
        city = [a for a, j, occs in self.institutions if j == CITY and occ.code in occs]
        if local and (not city or rng.random() < 0.8):
            return rng.choice(local)
        return rng.choice(city) if city else None

    def _schedule_city(self, rng: random.Random) -> None:
        counties = list(self.cfg.counties)
        cw = [_COUNTIES[c][1] for c in counties]
        months = list(_CITY_MONTHS)
        mw = [_CITY_MONTHS[m] for m in months]
        occs = list(_OCCS.values())
        ow = [o.weight for o in occs]
        target = int(self.cfg.target * rng.uniform(0.97, 1.03))
        total = 0
        while total < target:
            county = rng.choices(counties, cw)[0]
            occ = rng.choices(occs, ow)[0]
            inst = self._pick_institution(county, occ, rng)
            if inst is None:
                continue
            y, m = rng.choices(months, mw)[0]
            start = D(y, m, rng.randint(1, 28))
            if not _teaching_day(start, occ.programme) or start.weekday() > 4:
                continue
            lo, hi = self.cfg.roster
            size = (
                rng.randint(lo, hi)
                if occ.programme == "employment_skill" or occ.programme == "special_ability"
                else rng.randint(28, 40)
            )
            employer = None
            matching = [e for e, s in self.employers[county] if s == occ.sector]
            if matching and occ.programme != "two_after_student" and rng.random() < self.cfg.order_share:
                employer = rng.choice(matching)
            cls = self._new_class(county, occ, inst, start, size, employer, rng)
            if cls is None:
                continue
            self.classes.append(cls)
            total += size

    def _schedule_waves(self, rng: random.Random) -> None:
        county = self.cfg.counties[0]
        waves = (
            _SMALL_WAVES if self.cfg.name == "small" else [(D(2019, 3, 11), [("EMB", "inst-640422-02", 0)])]
        )
        lo, hi = self.cfg.roster
        for wave_start, rows in waves:
            for code, inst, emp_index in rows:
                occ = _OCCS[code]
                for _ in range(50):
                    start = wave_start + rng.randint(0, 11) * DAY
                    if start.weekday() > 4 or not _teaching_day(start, occ.programme):
                        continue
                    employer = self.employers[county][emp_index][0] if emp_index is not None else None
                    cls = self._new_class(county, occ, inst, start, rng.randint(lo, hi), employer, rng)
                    if cls is not None:
                        if self.cfg.name == "tiny":
                            cls.la = True
                        self.classes.append(cls)
                        break

    # ---- labourers ---------------------------------------------------------------------------
    def _name(self, gender: str, rng: random.Random) -> str:
        surname = rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_CUM)[0]
        if gender == "male":
            if rng.random() < 0.05:
                return surname + rng.choice(_HUI_MALE)
            chars = _MALE_CHARS
        else:
            if rng.random() < 0.04:
                return surname + rng.choice(_HUI_FEMALE)
            chars = _FEMALE_CHARS
        return surname + "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.4 else 2))

    def _id_number(self, county: str, birth: D, gender: str, rng: random.Random) -> str:
        while True:
            seq = rng.randrange(0, 1000)
            if (seq % 2 == 1) != (gender == "male"):
                seq = (seq + 1) % 1000
            first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
            number = first17 + id_check_digit(first17)
            if number not in self._ids_used:
                self._ids_used.add(number)
                return number

    def _card(self, rng: random.Random) -> str:
        while True:
            body = rng.choice(_CARD_BINS) + f"{rng.randrange(10**12):012d}"
            number = body + luhn_digit(body)
            if number not in self._accounts_used:
                self._accounts_used.add(number)
                return number

    def _phone(self, rng: random.Random) -> str:
        while True:
            number = rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if number not in self._phones_used:
                self._phones_used.add(number)
                return number

    def _birth_for(self, age: int, ref: D, rng: random.Random) -> D:
        hi = _add_years(ref, -age)
        lo = _add_years(ref, -(age + 1)) + DAY
        return lo + rng.randrange((hi - lo).days + 1) * DAY

    def _person(self, hh: _Household, age: int, gender: str, category: str, ref: D) -> _Lab:
        rng = self.rng
        birth = self._birth_for(age, ref, rng)
        n = self._next("L-" + hh.county)
        lab = _Lab(
            lid=f"L-{hh.county}-{n:06d}",
            hh=hh,
            birth=birth,
            gender=gender,
            category=category,
            name=self._name(gender, rng),
            id_number=self._id_number(hh.county, birth, gender, rng),
            phone=self._phone(rng),
            account=self._card(rng),
        )
        hh.members.append(lab)
        self.labs[lab.lid] = lab
        return lab

    def _household(self, county: str, category: str | None = None) -> _Household:
        rng = self.rng
        town, villages, actor = rng.choice(self.townships[county])
        registrar = actor if actor is not None and rng.random() < 0.7 else f"pov-{county}"
        if category is None:
            r = rng.random()
            category = "non_poor" if r < 0.02 else "eco_migrant" if r < 0.20 else "poor"
        n = self._next("H-" + county)
        hh = _Household(
            hid=f"H-{county}-{n:06d}",
            county=county,
            township=town,
            village=rng.choice(villages),
            registrar=registrar,
            category=category,
        )
        self.households.append(hh)
        return hh

    def _new_trainee(
        self, cls: _Class, gender: str, age: int | None = None, category: str | None = None
    ) -> _Lab:
        """A new household whose member ``gender`` trains in ``cls``; relatives go to the pool."""
        rng = self.rng
        occ = cls.occ
        teen = occ.programme == "two_after_student"
        hh = self._household(cls.county, "poor" if teen and category is None else category)
        if age is None:
            age = int(rng.triangular(occ.min_age, occ.max_age + 0.999, occ.mode_age))
        cat = "two_after_student" if teen else hh.category
        trainee = self._person(hh, age, gender, cat, cls.start)
        other = "female" if gender == "male" else "male"
        if teen:
            self._pool(
                self._person(hh, rng.randint(38, 55), rng.choice(["male", "female"]), hh.category, cls.start)
            )
        else:
            if rng.random() < 0.45 and 22 <= age <= 58:
                self._pool(
                    self._person(
                        hh, max(20, min(58, age + rng.randint(-5, 5))), other, hh.category, cls.start
                    )
                )
            if rng.random() < 0.2 and age >= 38:
                kid_age = rng.randint(16, 24)
                kid_cat = (
                    "two_after_student"
                    if kid_age <= 20 and rng.random() < 0.6 and hh.category != "non_poor"
                    else hh.category
                )
                self._pool(self._person(hh, kid_age, rng.choice(["male", "female"]), kid_cat, cls.start))
        return trainee

    def _pool(self, lab: _Lab) -> None:
        self._pending[(lab.hh.county, lab.gender)].append(lab)

    def _eligible(self, lab: _Lab, cls: _Class) -> bool:
        occ = cls.occ
        age = age_at(lab.birth, cls.start)
        if not occ.min_age <= age <= occ.max_age or lab.tainted or lab.rejected:
            return False
        if occ.programme == "two_after_student" and lab.category != "two_after_student":
            return False
        return occ.name not in lab.occupations and lab.lid not in cls.enrol

    def _from_pool(self, cls: _Class, gender: str) -> _Lab | None:
        pool = self._pending[(cls.county, gender)]
        for i in range(min(8, len(pool))):
            lab = pool[i]
            if self._eligible(lab, cls):
                pool.pop(i)
                return lab
        return None

    def _graduate(self, cls: _Class, gender: str) -> _Lab | None:
        pool = self._graduates[cls.county]
        rng = self.rng
        for _ in range(min(12, len(pool))):
            i = rng.randrange(len(pool))
            lab = pool[i]
            if len(lab.classes) >= 2 or lab.tainted:
                pool[i] = pool[-1]
                pool.pop()
                if not pool:
                    return None
                continue
            if (
                lab.gender == gender
                and lab.last_day is not None
                and lab.last_day + 14 * DAY < cls.start
                and self._eligible(lab, cls)
            ):
                pool[i] = pool[-1]
                pool.pop()
                return lab
        return None

    def _enrol(self, cls: _Class, lab: _Lab, when: D | None = None) -> None:
        rng = self.rng
        if when is None:
            lo = cls.approve + DAY
            hi = cls.start - DAY
            when = _office_day(lo + rng.randint(0, max(0, (hi - lo).days)) * DAY, lo, hi)
        cls.roster.append(lab.lid)
        cls.enrol[lab.lid] = when
        lab.classes.append(cls.cid)
        lab.occupations.add(cls.occ.name)
        lab.last_day = cls.end if lab.last_day is None else max(lab.last_day, cls.end)
        hh = lab.hh
        hh.first_use = when if hh.first_use is None else min(hh.first_use, when)

    def _fill_roster(self, cls: _Class) -> None:
        rng = self.rng
        size = len(cls.roster)
        cls.roster = []
        reuse = 0.12 if self.cfg.name == "city" else 0.05
        for _ in range(size):
            gender = "female" if rng.random() < cls.occ.female else "male"
            lab = None
            if rng.random() < reuse and cls.occ.programme != "two_after_student":
                lab = self._graduate(cls, gender)
            if lab is None:
                lab = self._from_pool(cls, gender)
            if lab is None:
                lab = self._new_trainee(cls, gender)
            self._enrol(cls, lab)
        self._graduates[cls.county].extend(self.labs[lid] for lid in cls.roster)

    # ---- class details ------------------------------------------------------------------------
    def _cert_no(self, ctype: str, year: int) -> str:
        return f"CERT-{_CERT_ABBR[ctype]}-{year}-{self._next('CERT-' + _CERT_ABBR[ctype] + str(year)):06d}"

    def _insp_id(self, year: int) -> str:
        return f"INSP-{year}-{self._next('INSP' + str(year)):06d}"

    def _claim_id(self, day: D) -> str:
        return f"C-{day.year}-{self._next('C' + str(day.year)):06d}"

    def _fund_id(self, year: int, jur: str, purpose: str) -> str:
        fid = f"F-{year}-{jur}-{purpose}"
        if fid not in self.funds:
            self.funds[fid] = _Fund(fid, jur, purpose, year)
        return fid

    def _pay_date(self, day: D) -> D:
        day = next_working_day(day)
        if day.month == 1 and day.day < 14:
            day = next_working_day(D(day.year, 1, 14))
        return day

    def _payment(self, claim: _Claim, value: D, fund_jur: str | None = None) -> _Pay:
        purpose = claim.kind
        jur = fund_jur or (CITY if purpose == "appraisal" else claim.jur)
        n = self._next("BANKREF")
        pay = _Pay(
            pid=f"P-{value.year}-{self._next('P' + str(value.year)):06d}",
            fund=self._fund_id(value.year, jur, purpose),
            value=value,
            bank_ref=f"GKZF{value:%Y%m%d}{n:07d}",
        )
        claim.payments.append(pay)
        return pay

    def _flow(self, claim: _Claim, rng: random.Random, pay_window: tuple[int, int] = (5, 35)) -> None:
        """Verification, approval and payment dates after ``claim.date`` (all working days)."""
        claim.verify = next_working_day(claim.date + rng.randint(1, 5) * DAY)
        claim.approve = next_working_day(claim.verify + rng.randint(2, 8) * DAY)
        value = self._pay_date(claim.approve + rng.randint(*pay_window) * DAY)
        if value > claim.approve + 40 * DAY:  # keep the 5–40 day window across holidays
            value = _prev_working_day(claim.approve + 40 * DAY)
        self._payment(claim, value)

    def _details(self, cls: _Class) -> None:
        rng = random.Random(f"sim:{self.seed}:class:{cls.cid}")
        n = len(cls.days)
        hr, pov, fin = f"hr-{cls.county}", f"pov-{cls.county}", f"fin-{cls.county}"
        # attendance: withdrawals (2 %) and missed days (3 %)
        for lid in cls.roster:
            if lid in cls.protected or lid in cls.ghosts:
                continue
            if n >= 8 and rng.random() < 0.02 and cls.slot != "STD-CLASS-SIZE":
                cls.withdrawn[lid] = cls.days[rng.randint(3, n - 3)]
            for i in range(n):
                if rng.random() < 0.03:
                    cls.absences.setdefault(i, set()).add(lid)
        cls.completers = [lid for lid in cls.roster if lid not in cls.withdrawn]
        # certificates
        occ = cls.occ
        end = cls.end
        if occ.cert_type == "training_completion":
            issued = next_working_day(end + rng.randint(1, 3) * DAY)
            for lid in cls.completers:
                cls.certs[lid] = _Cert(
                    self._cert_no(occ.cert_type, issued.year), occ.cert_type, occ.level, cls.inst, issued, lid
                )
        elif occ.cert_type == "driving_licence":
            for lid in cls.completers:
                test = next_working_day(end + rng.randint(3, 25) * DAY)
                if lid in cls.protected or rng.random() < 0.88:
                    cls.certs[lid] = _Cert(
                        self._cert_no(occ.cert_type, test.year),
                        occ.cert_type,
                        occ.level,
                        "traffic-640400",
                        test,
                        lid,
                    )
                else:
                    cls.failures[lid] = (test, "traffic-640400")
        else:
            exam = next_working_day(end + rng.randint(3, 8) * DAY)
            issued = next_working_day(exam + rng.randint(12, 25) * DAY)
            rate = 0.9 if occ.cert_type == "vocational_qualification" else 0.93
            for lid in cls.completers:
                if lid in cls.protected or rng.random() < rate:
                    cls.certs[lid] = _Cert(
                        self._cert_no(occ.cert_type, issued.year),
                        occ.cert_type,
                        occ.level,
                        "apc-640400",
                        issued,
                        lid,
                    )
                else:
                    cls.failures[lid] = (exam, "apc-640400")
        cls.review = next_working_day(end + rng.randint(2, 8) * DAY)
        last_cert = max((c.issued_on for c in cls.certs.values()), default=end)
        # training claim (institution), one line per certified registered-poor completer
        lines = [_Line(lid, _training_fen(occ, cls.certs[lid].ctype), cls.certs[lid].no)
                 for lid in cls.completers
                 if lid in cls.certs and self.labs[lid].category != "non_poor"]  # fmt: skip
        if lines:
            day = next_working_day(max(cls.review, last_cert) + rng.randint(3, 10) * DAY)
            if rng.random() < 0.03 and self.cfg.name != "tiny":  # rejected for missing papers, refiled
                bad = _Claim(
                    self._claim_id(day),
                    "training",
                    cls.inst,
                    cls.cid,
                    cls.county,
                    [_Line(x.lid, x.amount, x.cert) for x in lines],
                    _org_account(cls.inst),
                    day,
                )
                bad.reject = (
                    next_working_day(day + rng.randint(3, 6) * DAY),
                    "申报材料缺少学员签字考勤表，退回补正",
                )
                cls.claims.append(bad)
                day = next_working_day(bad.reject[0] + rng.randint(5, 12) * DAY)
            claim = _Claim(
                self._claim_id(day),
                "training",
                cls.inst,
                cls.cid,
                cls.county,
                lines,
                _org_account(cls.inst),
                day,
            )
            self._flow(claim, rng)
            cls.claims.append(claim)
        # appraisal claim (appraisal centre)
        if occ.cert_type in _APPRAISAL_FEN:
            alines = [
                _Line(lid, _APPRAISAL_FEN[occ.cert_type], c.no)
                for lid, c in cls.certs.items()
                if self.labs[lid].category != "non_poor"
            ]
            if alines:
                day = next_working_day(last_cert + rng.randint(5, 15) * DAY)
                claim = _Claim(
                    self._claim_id(day),
                    "appraisal",
                    "apc-640400",
                    cls.cid,
                    cls.county,
                    alines,
                    _org_account("apc-640400"),
                    day,
                )
                self._flow(claim, rng)
                cls.claims.append(claim)
        # living allowance: one claim per labourer, paid to the labourer's own card, in one batch
        if cls.la:
            day = next_working_day(end + rng.randint(3, 10) * DAY)
            verify = next_working_day(day + rng.randint(1, 4) * DAY)
            approve = next_working_day(verify + rng.randint(2, 6) * DAY)
            value = self._pay_date(approve + rng.randint(5, 20) * DAY)
            for lid in cls.completers:
                lab = self.labs[lid]
                if lab.category == "non_poor" or lid in cls.ghosts:
                    continue
                claim = _Claim(
                    self._claim_id(day),
                    "living_allowance",
                    cls.inst,
                    cls.cid,
                    cls.county,
                    [_Line(lid, None)],
                    lab.account,
                    day,
                    verify=verify,
                    approve=approve,
                )
                pay = self._payment(claim, value)
                if rng.random() < 0.01 and self.cfg.name != "tiny":  # bank return, then paid again
                    back = next_working_day(value + rng.randint(2, 6) * DAY)
                    pay.returned = (back, "收款行退票：账户状态异常（久悬户），原路退回")
                    claim.pdas.append(
                        (
                            next_working_day(back + DAY),
                            f"pov-{lab.hh.county}",
                            lid,
                            "补贴退票，核对本人银行账户信息",
                        )
                    )
                    self._payment(claim, self._pay_date(back + rng.randint(5, 12) * DAY))
                cls.claims.append(claim)
        # inspections: a process inspection by the county HR bureau, a spot check by another office
        inner = list(range(1, n - 1)) if n >= 4 else list(range(n))
        inner = [i for i in inner if is_working_day(cls.days[i])] or inner  # inspectors visit on weekdays
        year = cls.start.year
        checklist = dict.fromkeys(
            ("plan", "teachers", "facilities", "practical", "textbooks", "attendance"), True
        )
        if rng.random() < 0.6:
            i = rng.choice(inner)
            cls.inspections.append(
                _Insp(
                    self._insp_id(year),
                    "site_visit",
                    hr,
                    cls.days[i],
                    "class",
                    cls.cid,
                    cls.cid,
                    dict(checklist),
                    [],
                    "pass",
                    day_index=i,
                )
            )
        who = rng.choices([pov, fin, "insp-640400", "aud-640400", "hr-640400"], [35, 20, 20, 10, 15])[0]
        i = rng.choice(inner)
        if rng.random() < 0.05 and i < n - 2:  # failed, rectified, passed on a return visit
            failed = dict(checklist, textbooks=False)
            cls.inspections.append(
                _Insp(
                    self._insp_id(year),
                    "spot_check",
                    who,
                    cls.days[i],
                    "class",
                    cls.cid,
                    cls.cid,
                    failed,
                    [{"code": "textbooks_missing", "note": "未按要求发放统一教材"}],
                    "fail",
                    day_index=i,
                )
            )
            j = rng.randint(i + 1, n - 2)
            cls.inspections.append(
                _Insp(
                    self._insp_id(year),
                    "site_visit",
                    who,
                    cls.days[j],
                    "class",
                    cls.cid,
                    cls.cid,
                    dict(checklist),
                    [{"code": "rectified", "note": "教材已补发，整改到位"}],
                    "pass",
                    day_index=j,
                )
            )
        else:
            cls.inspections.append(
                _Insp(
                    self._insp_id(year),
                    "spot_check",
                    who,
                    cls.days[i],
                    "class",
                    cls.cid,
                    cls.cid,
                    dict(checklist),
                    [],
                    "pass",
                    day_index=i,
                )
            )
        if rng.random() < 0.1:
            i = rng.choice(inner)
            cls.inspections.append(
                _Insp(
                    self._insp_id(year),
                    "questionnaire",
                    pov,
                    cls.days[i],
                    "class",
                    cls.cid,
                    cls.cid,
                    None,
                    [],
                    "pass",
                )
            )
        # phone visits after payment
        tclaim = cls.training_claim()
        if tclaim is not None and rng.random() < 0.25:
            paid = tclaim.payments[0].value
            for line in rng.sample(tclaim.lines, min(len(tclaim.lines), rng.randint(1, 3))):
                day = next_working_day(paid + rng.randint(5, 30) * DAY)
                if day <= self.cfg.end:
                    actor = rng.choice([pov, "insp-640400"])
                    cls.inspections.append(
                        _Insp(
                            self._insp_id(day.year),
                            "phone_visit",
                            actor,
                            day,
                            "laborer",
                            line.lid,
                            cls.cid,
                            None,
                            [
                                {
                                    "laborer_id": line.lid,
                                    "code": "attendance_confirmed",
                                    "note": "本人确认参加培训并收到补贴",
                                }
                            ],
                            "pass",
                        )
                    )

    # ---- employment ----------------------------------------------------------------------------
    def _employment(self) -> None:
        rng = random.Random(f"sim:{self.seed}:employment")
        cfg = self.cfg
        ly, lm = cfg.last_payroll
        for cls in self.classes:
            if cls.state != "normal":
                continue
            for lid, start in cls.pre_employed.items():
                self._employ(cls.employer or "", cls, lid, start, rng, order=True)
            for lid in cls.completers:
                lab = self.labs[lid]
                cert = cls.certs.get(lid)
                if (
                    cert is None
                    or lab.tainted
                    or lab.employed
                    or lab.category == "non_poor"
                    or lid in cls.withdrawn
                    or lid in cls.pre_employed
                ):
                    continue
                if cls.employer is not None and rng.random() < 0.5:
                    start = next_working_day(cls.end + rng.randint(3, 10) * DAY)
                    self._employ(cls.employer, cls, lid, start, rng, order=True)
                elif rng.random() < cfg.hire_share:
                    pool = [e for e, s in self.employers[cls.county] if s == cls.occ.sector]
                    if not pool:
                        continue
                    start = next_working_day(cert.issued_on + rng.randint(10, 60) * DAY)
                    self._employ(rng.choice(pool), cls, lid, start, rng, order=False)
        # payroll, proof, end
        for emp in self.emps:
            months: list[tuple[int, int, int]] = []
            y, m = emp.start.year, emp.start.month
            n = rng.randint(6, 14)
            lo, hi = _WAGE_YUAN[next(s for e, s in self.employers[emp.county] if e == emp.employer)]
            wage = rng.randint(lo, hi) * 100
            while len(months) < n and (y, m) <= (ly, lm):
                fen = wage
                if (y, m) == (emp.start.year, emp.start.month) and emp.start.day > 1:
                    dim = _month_end(y, m).day
                    fen = wage * (dim - emp.start.day + 1) // dim
                months.append((y, m, fen))
                y, m = _next_month(y, m)
            emp.payroll = months
            if len(months) >= 6:
                six = months[:6]
                emp.proof_months = [f"{a:04d}-{b:02d}" for a, b, _ in six]
                emp.proof = next_working_day(_month_end(six[-1][0], six[-1][1]) + rng.randint(7, 15) * DAY)
            if months and len(months) == n and rng.random() < 0.3:
                last_y, last_m, _ = months[-1]
                emp.ended = _month_end(last_y, last_m) - rng.randint(0, 5) * DAY
        # employer claims: one per employer and quarter of proofs
        batches: dict[tuple[str, int, int], list[_Emp]] = defaultdict(list)
        for emp in self.emps:
            if emp.proof is not None and emp.proof <= cfg.end:
                batches[(emp.employer, emp.proof.year, (emp.proof.month - 1) // 3)].append(emp)
        for (employer, y, q), emps in sorted(batches.items()):
            qy, qm = (y + 1, 1) if q == 3 else (y, 3 * q + 4)
            day = next_working_day(D(qy, qm, 1) + rng.randint(4, 20) * DAY)
            if day + 70 * DAY > cfg.end:
                continue
            county = emps[0].county
            lines = [_Line(e.lid, _EMPLOYER_FEN, self._cert_of(e.lid), e.eid) for e in emps]
            claim = _Claim(
                self._claim_id(day), "employer", employer, None, county, lines, _org_account(employer), day
            )
            self._flow(claim, rng)
            for e in emps:
                e.claimed = True
            if rng.random() < 0.03 and self.cfg.name != "tiny":
                line = rng.choice(lines)
                when = next_working_day(claim.payments[0].value + rng.randint(30, 90) * DAY)
                if when <= cfg.end:
                    claim.recoveries.append(
                        (
                            f"R-{when.year}-{self._next('R' + str(when.year)):05d}",
                            when,
                            line.amount or 0,
                            f"复核发现{line.lid}社保缴费记录与工资表不一致，追回该人补贴",
                            None,
                        )
                    )
            self.emp_claims.append(claim)

    def _cert_of(self, lid: str) -> str | None:
        for cid in self.labs[lid].classes:
            cert = self.by_cid[cid].certs.get(lid)
            if cert is not None:
                return cert.no
        return None

    def _employ(
        self, employer: str, cls: _Class, lid: str, start: D, rng: random.Random, order: bool
    ) -> _Emp:
        county = next(c for c, rows in self.employers.items() if any(e == employer for e, _ in rows))
        eid = f"EMP-{county}-{self._next('EMP' + county):05d}"
        position = cls.occ.position
        emp = _Emp(eid, employer, county, lid, position, start, cls.cid if order else None, [])
        self.emps.append(emp)
        self.emp_by_id[eid] = emp
        self.labs[lid].employed = True
        return emp

    # ---- finalisation: amounts, funds, registration dates --------------------------------------------
    def _all_claims(self) -> Iterator[_Claim]:
        for cls in self.classes:
            yield from cls.claims
        yield from self.emp_claims

    def _finalize(self) -> None:
        rng = random.Random(f"sim:{self.seed}:finalize")
        for cls in self.classes:
            if cls.state != "normal":
                continue
            attended: dict[str, int] = defaultdict(int)
            for i in range(len(cls.days)):
                for lid in cls.present(i):
                    attended[lid] += 1
            for claim in cls.claims:
                if claim.kind == "living_allowance":
                    for line in claim.lines:
                        line.amount = _LA_PER_DAY_FEN * attended[line.lid]
        for claim in self._all_claims():
            approved = sum(a for _, a in claim.approved_lines()) if claim.approve else claim.total()
            for pay in claim.payments:
                if pay.amount is None:
                    pay.amount = approved + pay.delta
                self.funds[pay.fund].need += pay.amount
        # funds: allocated in the first days of January, before any payment, with a margin
        for fund in sorted(self.funds.values(), key=lambda f: f.fid):
            if fund.need == 0:
                continue
            wan = 1_000_000  # allocations are made in units of 10,000 yuan (万元)
            total = -(-int(fund.need * rng.uniform(1.08, 1.25)) // wan) * wan
            if fund.jur == CITY:
                parts = [("region", 0.6), ("city", 0.4)]
            elif fund.purpose == "training":
                parts = [("central", 0.5), ("region", 0.25), ("city", 0.1), ("county", 0.15)]
            elif fund.purpose == "living_allowance":
                parts = [("region", 0.6), ("county", 0.4)]
            else:
                parts = [("central", 0.4), ("region", 0.4), ("county", 0.2)]
            day = D(fund.year, 1, 2)
            left = total
            for k, (source, share) in enumerate(parts):
                amount = left if k == len(parts) - 1 else int(total * share) // wan * wan
                left -= amount
                day = next_working_day(day + DAY)
                signer = "fin-640400" if source == "city" or fund.jur == CITY else f"fin-{fund.jur}"
                fund.allocations.append((day, signer, source, amount))
            if rng.random() < 0.3:
                top = max(wan, int(fund.need * 0.08) // wan * wan)
                when = next_working_day(D(fund.year, 7, rng.randint(1, 15)))
                if when <= self.cfg.end:
                    fund.adjustments.append(
                        (
                            when,
                            f"fin-{fund.jur}" if fund.jur != CITY else "fin-640400",
                            top,
                            "追加下达第二批培训专项资金",
                        )
                    )
        # registration and identity confirmation before each household's first use
        for hh in self.households:
            first = hh.first_use or self.cfg.reg_start + 30 * DAY
            reg = first - rng.randint(7, 40) * DAY
            reg = max(reg, self.cfg.reg_start)
            reg = min(reg, first - 3 * DAY)
            hh.reg = _office_day(reg, self.cfg.reg_start, first - 3 * DAY)
            confirm = hh.reg + rng.randint(1, max(1, min(10, (first - hh.reg).days - 1))) * DAY
            hh.confirm = _office_day(confirm, hh.reg + DAY, first - DAY)
            if rng.random() < 0.01:
                lab = rng.choice(hh.members)
                when = next_working_day(hh.confirm + rng.randint(5, 30) * DAY)
                if when <= self.cfg.end:
                    _, villages, _ = next(t for t in self.townships[hh.county] if t[0] == hh.township)
                    lab.correction = (when, rng.choice([v for v in villages if v != hh.village] or villages))
        # a duplicate registration comes after the original's (DUP-LABORER names the later one)
        for orig, dup in self._dup_households:
            assert orig.reg is not None and dup.reg is not None and dup.first_use is not None
            if dup.reg <= orig.reg:
                dup.reg = orig.reg + DAY
                if dup.reg > dup.first_use - 3 * DAY:
                    dup.reg = dup.first_use - 3 * DAY
                    orig.reg = dup.reg - DAY
                for hh in (orig, dup):
                    assert hh.reg is not None and hh.first_use is not None
                    hh.confirm = hh.reg + max(1, min(3, (hh.first_use - hh.reg).days - 1)) * DAY
        # a few registered members are rejected on confirmation (never trained)
        for hh in self.households:
            for lab in hh.members:
                if not lab.classes and rng.random() < 0.04 and self.cfg.name != "tiny":
                    lab.rejected = True

    def _collateral(self) -> None:
        """Knock-on flags where two injections meet on one class (e.g. a second training claim
        filed for a class whose completion review was left out is also paid without review)."""
        listed = {(c.rule, c.subject_id, c.laborer_id) for c in self.truth + self.knock_on}
        for cls in self.classes:
            if cls.state != "normal" or cls.review is not None:
                continue
            for claim in cls.claims:
                if (
                    claim.kind == "training"
                    and claim.reject is None
                    and (claim.approve or claim.payments)
                    and ("SEQ-PAID-WITHOUT-REVIEW", claim.cid, None) not in listed
                ):
                    self._knock(
                        "SEQ-PAID-WITHOUT-REVIEW",
                        "claim",
                        claim.cid,
                        None,
                        "another training claim of a class that was never reviewed",
                    )

    def _reconciliations(self) -> None:
        per: dict[tuple[str, int, int], list[int]] = defaultdict(list)
        for claim in self._all_claims():
            for pay in claim.payments:
                fin = f"fin-{self.funds[pay.fund].jur}"
                per[(fin, pay.value.year, pay.value.month)].append(pay.amount or 0)
        rng = random.Random(f"sim:{self.seed}:recon")
        for (fin, y, m), amounts in sorted(per.items()):
            ny, nm = _next_month(y, m)
            when = next_working_day(D(ny, nm, rng.randint(5, 12)))
            if when <= self.cfg.end:
                self.recons.append((when, fin, f"{y:04d}-{m:02d}", len(amounts), sum(amounts)))

    # ================================================================================================
    # Injection
    # ================================================================================================
    def _case(self, rule: str, kind: str, sid: str, lid: str | None, note: str) -> None:
        self.truth.append(InjectedCase(rule, kind, sid, lid, note))

    def _knock(self, rule: str, kind: str, sid: str, lid: str | None, note: str) -> None:
        self.knock_on.append(InjectedCase(rule, kind, sid, lid, note))

    def _choose_cases(self) -> list[str]:
        if self.misuse_rate <= 0:
            return []
        cases = list(RULE_IDS)
        extra = round(self.misuse_rate * len(self.classes))
        common = {
            "SEQ-PAID-WITHOUT-ATTENDANCE": 4,
            "STD-OVER-STANDARD": 3,
            "CONF-VISIT-DENIAL": 2,
            "STD-DURATION": 2,
            "TIME-BACKDATED": 2,
            "CONF-HEADCOUNT": 2,
            "STD-DAILY-HOURS": 1,
            "STD-PRACTICAL-SHARE": 1,
            "SEQ-PAID-WITHOUT-CERTIFICATE": 1,
            "DUP-CLAIM-LINE": 1,
            "INSP-UNINSPECTED": 1,
            "ELIG-NOT-POOR": 1,
            "ELIG-AGE-RANGE": 1,
            "ELIG-DRIVER-AGE": 1,
            "CONF-AFTER-WITHDRAWAL": 1,
            "SEQ-BEFORE-APPROVAL": 1,
            "TIME-WEEKEND-PAYMENT": 1,
            "TIME-CERT-BEFORE-END": 1,
            "NET-SHARED-ACCOUNT": 1,
            "STD-CLASS-SIZE": 1,
            "SEQ-PAID-WITHOUT-REVIEW": 1,
            "FIN-OVERPAID": 1,
            "DUP-PAYMENT": 1,
            "SEQ-PAID-WITHOUT-IDENTITY": 1,
            "CONF-DOUBLE-PRESENCE": 1,
            "DUP-LABORER": 1,
            "STD-UNAPPRAISED": 1,
            "INSP-FAILED-PAID": 1,
            "FIN-PAYEE-MISMATCH": 1,
        }
        names = list(common)
        weights = [common[k] for k in names]
        cases += self.rng.choices(names, weights, k=extra)
        return cases

    def _run_cases(self, cases: list[str], phase: str) -> None:
        # One case of every rule first, then the extras; within each, hosts that are scarce
        # (order-training classes, training-completion classes, driver classes) are taken first.
        order = sorted(range(len(cases)), key=lambda i: (i >= len(RULE_IDS), _SCARCE.get(cases[i], 9), i))
        for i in order:
            injector = _INJECTORS[cases[i]]
            if injector[0] == phase:
                injector[1](self)

    # ---- host selection ------------------------------------------------------------------------
    def _classes(self, pred: Callable[[_Class], bool], slot: str | None = "class") -> Iterator[_Class]:
        """Candidate hosts in random order, lazily: normal classes whose ``slot`` is free."""
        out = [c for c in self.classes if c.state == "normal"
               and (slot is None or (slot == "class" and c.slot is None)
                    or (slot == "claim" and c.claim_slot is None))]  # fmt: skip
        self.rng.shuffle(out)
        # keep scarce hosts (order training, training-completion and driver classes) for the
        # injections that need them: any other injection takes them last
        out.sort(
            key=lambda c: (
                (c.employer is not None) * 2 + (c.occ.cert_type in ("training_completion", "driving_licence"))
            )
        )
        return (c for c in out if pred(c))

    def _plain(self, cls: _Class, lid: str) -> bool:
        """A labourer untouched by other injections, trained once, claimed on the training line."""
        lab = self.labs[lid]
        return (
            not lab.tainted
            and len(lab.classes) == 1
            and lid not in cls.protected
            and lid not in cls.ghosts
            and lid not in cls.withdrawn
            and lab.category != "non_poor"
        )

    def _claimed(self, cls: _Class) -> list[str]:
        claim = cls.training_claim()
        return [ln.lid for ln in claim.lines if self._plain(cls, ln.lid)] if claim else []

    def _other_claims(self, lid: str, besides: _Claim) -> list[_Claim]:
        return [c for c in self._all_claims() if c is not besides and c.reject is None
                and any(ln.lid == lid for ln in c.lines)]  # fmt: skip

    def _taint(self, *lids: str) -> None:
        for lid in lids:
            self.labs[lid].tainted = True

    # ---- phase A: rosters, schedules ---------------------------------------------------------------
    def _a_class_size(self) -> None:
        for cls in self._classes(lambda c: len(c.roster) >= 30 and c.programme != "two_after_student"):
            cls.slot = "STD-CLASS-SIZE"
            target = self.rng.randint(52, 56)
            cls.capacity = 50
            while len(cls.roster) < target:
                gender = "female" if self.rng.random() < cls.occ.female else "male"
                self._enrol(cls, self._new_trainee(cls, gender))
            self._case(
                "STD-CLASS-SIZE",
                "class",
                cls.cid,
                None,
                f"{len(cls.roster)} enrolled in a class approved for 50 (超员开班)",
            )
            return

    def _a_duration(self) -> None:
        for cls in self._classes(lambda c: c.programme in ("employment_skill", "special_ability")):
            span = self.rng.randint(12, 16)
            days = [d for d in cls.days if d <= cls.start + (span - 1) * DAY]
            if len(days) < 8:
                continue
            cls.slot = "STD-DURATION"
            cls.days = days
            cls.hours = self._hours_for(cls.programme, len(days))
            self._case(
                "STD-DURATION",
                "class",
                cls.cid,
                None,
                f"course squeezed into {(days[-1] - days[0]).days + 1} days (压缩培训时间), planned "
                f"{(cls.planned_end - cls.start).days + 1}",
            )
            return

    def _a_daily_hours(self) -> None:
        for cls in self._classes(lambda c: c.programme in ("employment_skill", "special_ability")):
            cls.slot = "STD-DAILY-HOURS"
            picks = self.rng.sample(range(1, len(cls.days)), self.rng.randint(3, 5))
            for i in picks:
                cls.hours[i] = (1, 3)
            self._case(
                "STD-DAILY-HOURS",
                "class",
                cls.cid,
                None,
                f"{len(picks)} half days of 4 class-hours (半天课) counted as full days",
            )
            return

    def _a_practical(self) -> None:
        for cls in self._classes(lambda c: c.programme != "driver"):
            cls.slot = "STD-PRACTICAL-SHARE"
            cls.hours = [(4, 4)] * len(cls.days)
            self._case(
                "STD-PRACTICAL-SHARE",
                "class",
                cls.cid,
                None,
                "practical training replaced by lectures: 4 theory + 4 practical every day (以理论代实操)",
            )
            return

    def _a_driver_age(self) -> None:
        for cls in self._classes(lambda c: c.programme == "driver" and len(c.roster) < 49):
            cls.slot = "ELIG-DRIVER-AGE"
            lab = self._new_trainee(cls, "male", age=self.rng.randint(51, 54))
            self._enrol(cls, lab)
            self._taint(lab.lid)
            self._case(
                "ELIG-DRIVER-AGE",
                "class",
                cls.cid,
                lab.lid,
                f"driver trainee aged {age_at(lab.birth, cls.start)} (驾驶员培训须50岁以下)",
            )
            return

    def _a_age_range(self) -> None:
        for cls in self._classes(
            lambda c: c.programme in ("employment_skill", "special_ability") and len(c.roster) < 49
        ):
            cls.slot = "ELIG-AGE-RANGE"
            lab = self._new_trainee(cls, self.rng.choice(["male", "female"]), age=self.rng.randint(61, 64))
            self._enrol(cls, lab)
            self._taint(lab.lid)
            self._case(
                "ELIG-AGE-RANGE",
                "class",
                cls.cid,
                lab.lid,
                f"enrolee aged {age_at(lab.birth, cls.start)}, over the NX limit of 60",
            )
            return

    def _a_ghost(self) -> None:
        for cls in self._classes(lambda c: c.occ.cert_type == "training_completion" and len(c.roster) < 49):
            cls.slot = "SEQ-PAID-WITHOUT-ATTENDANCE"
            lab = self._new_trainee(cls, self.rng.choice(["male", "female"]), category="poor")
            self._enrol(cls, lab)
            cls.ghosts.add(lab.lid)
            self._taint(lab.lid)

            def resolve(cls: _Class = cls, lid: str = lab.lid) -> None:
                claim = cls.training_claim()
                assert claim is not None
                self._case(
                    "SEQ-PAID-WITHOUT-ATTENDANCE",
                    "claim",
                    claim.cid,
                    lid,
                    "ghost trainee (虚报冒领): enrolled, certified and paid, never in the attendance",
                )
                pay = claim.payments[0]
                when = next_working_day(pay.value + self.rng.randint(40, 80) * DAY)
                if when <= self.cfg.end:
                    aid = anomaly_id("SEQ-PAID-WITHOUT-ATTENDANCE", "claim", claim.cid, lid)
                    rid = f"R-{when.year}-{self._next('R' + str(when.year)):05d}"
                    line = next(ln for ln in claim.lines if ln.lid == lid)
                    claim.pdas.append(
                        (
                            _prev_working_day(when - 5 * DAY),
                            "insp-640400",
                            lid,
                            "核查疑似虚报冒领：核实本人身份与联系方式",
                        )
                    )
                    claim.recoveries.append(
                        (
                            rid,
                            when,
                            line.amount or 0,
                            "纪检监察核查：该学员未实际参训，追回虚报的培训补贴",
                            aid,
                        )
                    )
                    claim.disposals.append((next_working_day(when + 3 * DAY), aid, "confirmed"))

            self._after_details.append(resolve)
            return

    def _a_employed_before(self) -> None:
        for cls in self._classes(
            lambda c: c.employer is not None and c.start >= self.cfg.reg_start + 90 * DAY
        ):
            lid = next(
                (x for x in cls.roster if self._plain(cls, x) and self.labs[x].category != "non_poor"), None
            )
            if lid is None:
                continue
            cls.slot = "CONF-EMPLOYED-BEFORE-TRAINING"
            start = next_working_day(cls.start - self.rng.randint(75, 95) * DAY)
            start = max(start, next_working_day(self.cfg.reg_start + 10 * DAY))
            cls.request = _prev_working_day(start - self.rng.randint(3, 8) * DAY)
            cls.request = max(cls.request, next_working_day(self.cfg.reg_start + 3 * DAY))
            cls.approve = next_working_day(cls.request + self.rng.randint(1, 3) * DAY)
            if cls.approve >= start:
                start = next_working_day(cls.approve + DAY)
            cls.pre_employed[lid] = start
            cls.protected.add(lid)
            lab = self.labs[lid]
            lab.hh.first_use = min(lab.hh.first_use or start, start)
            self._taint(lid)

            def resolve(cls: _Class = cls, lid: str = lid) -> None:
                emp = next(e for e in self.emps if e.lid == lid and e.class_id == cls.cid)
                self._case(
                    "CONF-EMPLOYED-BEFORE-TRAINING",
                    "employment",
                    emp.eid,
                    lid,
                    f"order-training employee on the payroll since {emp.start:%Y-%m}, before the class "
                    f"began on {cls.start} (先上岗后培训)",
                )

            self._after_employment.append(resolve)
            return

    def _pairs(self, pred: Callable[[_Class, _Class], bool]) -> Iterator[tuple[_Class, _Class]]:
        """Ordered pairs of normal classes satisfying ``pred``, lazily, in random order."""
        normal = [c for c in self.classes if c.state == "normal"]
        firsts = normal[:]
        self.rng.shuffle(firsts)
        for a in firsts:
            seconds = normal[:]
            self.rng.shuffle(seconds)
            for b in seconds:
                if a is not b and pred(a, b):
                    yield a, b

    def _movable(self, a: _Class, targets: list[_Class]) -> str | None:
        for lid in a.roster:
            lab = self.labs[lid]
            if (
                self._plain(a, lid)
                and all(self._eligible(lab, t) for t in targets)
                and all(len(t.roster) < 49 for t in targets)
            ):
                return lid
        return None

    def _a_double(self) -> None:
        for a, b in self._pairs(
            lambda a, b: (
                a.county == b.county
                and a.occ.name != b.occ.name
                and a.start < b.start <= a.end
                and b.programme != "two_after_student"
            )
        ):
            if not set(a.days) & set(b.days):
                continue
            lid = self._movable(a, [b])
            if lid is None:
                continue
            self._enrol(b, self.labs[lid])
            a.protected.add(lid)
            b.protected.add(lid)
            self._taint(lid)
            overlap = sorted(set(a.days) & set(b.days))
            self._case(
                "CONF-DOUBLE-PRESENCE",
                "laborer",
                lid,
                lid,
                f"signed in to {a.cid} and {b.cid} on {len(overlap)} same days (双重报名), first {overlap[0]}",
            )
            return

    def _a_recycled(self) -> None:
        by_inst: dict[str, list[_Class]] = defaultdict(list)
        for c in self.classes:
            if c.state == "normal" and c.programme != "two_after_student":
                by_inst[c.inst].append(c)
        options = []
        for cs in by_inst.values():
            cs = sorted(cs, key=lambda c: c.start)
            for i, c1 in enumerate(cs):
                for c2 in cs[i + 1 :]:
                    if c2.start <= c1.end or c2.start.year != c1.start.year or c2.occ.name == c1.occ.name:
                        continue
                    for c3 in cs:
                        if (
                            c3.start > c2.end
                            and c3.start.year == c1.start.year
                            and c3.occ.name not in (c1.occ.name, c2.occ.name)
                        ):
                            options.append((c1, c2, c3))
                            break
                    break
        self.rng.shuffle(options)
        for c1, c2, c3 in options:
            lid = self._movable(c1, [c2, c3])
            if lid is None:
                continue
            lab = self.labs[lid]
            self._enrol(c2, lab)
            self._enrol(c3, lab)
            for c in (c1, c2, c3):
                c.protected.add(lid)
            self._taint(lid)
            self._case(
                "NET-RECYCLED-TRAINEE",
                "laborer",
                lid,
                lid,
                f"{c1.inst} enrolled the same labourer in {c1.cid}, {c2.cid} and {c3.cid} in "
                f"{c1.start.year} (反复培训同一人)",
            )
            return

    def _a_repeat(self) -> None:
        for a, b in self._pairs(
            lambda a, b: a.occ.name == b.occ.name and a.occ.level == b.occ.level and b.start > a.end + 7 * DAY
        ):
            lab_lid = None
            for lid in a.roster:
                lab = self.labs[lid]
                if self._plain(a, lid) and len(b.roster) < 49 and lid not in b.enrol:
                    age = age_at(lab.birth, b.start)
                    if b.occ.min_age <= age <= b.occ.max_age:
                        lab_lid = lid
                        break
            if lab_lid is None:
                continue
            self._enrol(b, self.labs[lab_lid])
            a.protected.add(lab_lid)
            b.protected.add(lab_lid)
            self._taint(lab_lid)
            self._case(
                "DUP-REPEAT-TRAINING",
                "laborer",
                lab_lid,
                lab_lid,
                f"trained and paid twice for {a.occ.name} ({a.occ.level or 'no level'}): {a.cid} and {b.cid}",
            )
            return

    def _a_dup_laborer(self) -> None:
        for a, b in self._pairs(
            lambda a, b: (
                a.county == b.county
                and a.occ.name != b.occ.name
                and b.start > a.end + 20 * DAY
                and len(b.roster) < 49
                and b.programme != "two_after_student"
            )
        ):
            lid = next(
                (
                    x
                    for x in a.roster
                    if self._plain(a, x)
                    and self.labs[x].category != "non_poor"
                    and b.occ.min_age <= age_at(self.labs[x].birth, b.start) <= b.occ.max_age
                ),
                None,
            )
            if lid is None:
                continue
            orig = self.labs[lid]
            hh = self._household(a.county, orig.hh.category)
            hh.registrar = (
                f"pov-{a.county}"
                if orig.hh.registrar.startswith("tw-")
                else next((t[2] for t in self.townships[a.county] if t[2]), f"pov-{a.county}")
            )
            n = self._next("L-" + hh.county)
            dup = _Lab(
                lid=f"L-{hh.county}-{n:06d}",
                hh=hh,
                birth=orig.birth,
                gender=orig.gender,
                category=orig.category,
                name=orig.name,
                id_number=orig.id_number,
                phone=self._phone(self.rng),
                account=self._card(self.rng),
            )
            hh.members.append(dup)
            self.labs[dup.lid] = dup
            self._dup_households.append((orig.hh, hh))
            self._enrol(b, dup)
            b.protected.add(dup.lid)
            self._taint(lid, dup.lid)
            self._case(
                "DUP-LABORER",
                "laborer",
                dup.lid,
                dup.lid,
                f"the same person as {lid} (same ID number) registered again in another household "
                f"by another office, then trained again in {b.cid}",
            )
            return

    # ---- phase B: attendance, inspections, certificates -----------------------------------------------
    def _b_before_approval(self) -> None:
        for cls in self._classes(lambda c: len(c.days) >= 5 and c.request < c.start - 5 * DAY):
            cls.slot = "SEQ-BEFORE-APPROVAL"
            cls.approve = cls.days[self.rng.randint(1, 3)]
            lo = cls.request + DAY
            for lid in cls.roster:
                when = lo + self.rng.randint(0, (cls.start - DAY - lo).days) * DAY
                cls.enrol[lid] = when
                hh = self.labs[lid].hh
                hh.first_use = when if hh.first_use is None else min(hh.first_use, when)
            self._case(
                "SEQ-BEFORE-APPROVAL",
                "class",
                cls.cid,
                None,
                f"class started {cls.start} before its opening was approved on {cls.approve} (先开班后审批)",
            )
            return

    def _b_backdated(self) -> None:
        for cls in self._classes(lambda c: len(c.days) >= 6):
            cls.slot = "TIME-BACKDATED"
            i = self.rng.randint(2, len(cls.days) - 3)
            cls.attendance_delay[i] = self.rng.randint(9, 14)
            self._case(
                "TIME-BACKDATED",
                "class",
                cls.cid,
                None,
                f"attendance of {cls.days[i]} signed {cls.attendance_delay[i]} days later (补录考勤)",
            )
            return

    def _spot(
        self,
        cls: _Class,
        i: int,
        verdict: str,
        findings: list[dict[str, Any]],
        checklist: dict[str, bool],
        missing: frozenset[str] = frozenset(),
        marked: frozenset[str] = frozenset(),
        actor: str = "insp-640400",
    ) -> _Insp:
        insp = _Insp(
            self._insp_id(cls.start.year),
            "spot_check",
            actor,
            cls.days[i],
            "class",
            cls.cid,
            cls.cid,
            checklist,
            findings,
            verdict,
            day_index=i,
            missing=missing,
            marked_absent=marked,
        )
        cls.inspections.append(insp)
        return insp

    def _revisit(self, cls: _Class, after: int) -> None:
        j = self.rng.randint(after + 1, len(cls.days) - 1)
        ok = dict.fromkeys(("plan", "teachers", "facilities", "practical", "textbooks", "attendance"), True)
        cls.inspections.append(
            _Insp(
                self._insp_id(cls.start.year),
                "site_visit",
                f"hr-{cls.county}",
                cls.days[j],
                "class",
                cls.cid,
                cls.cid,
                ok,
                [{"code": "rectified", "note": "复查：考勤管理已整改"}],
                "pass",
                day_index=j,
            )
        )

    def _b_inspection_absent(self) -> None:
        for cls in self._classes(lambda c: len(c.days) >= 6):
            i = self.rng.randint(1, len(cls.days) - 3)
            present = [x for x in cls.present(i) if x not in cls.protected]
            if not present:
                continue
            cls.slot = "CONF-INSPECTION-ABSENT"
            lid = self.rng.choice(present)
            bad = dict.fromkeys(("plan", "teachers", "facilities", "practical", "textbooks"), True)
            bad["attendance"] = False
            self._spot(
                cls,
                i,
                "fail",
                [{"laborer_id": lid, "code": "absent_at_inspection", "note": "抽查时本人不在培训现场"}],
                bad,
                marked=frozenset({lid}),
            )
            self._revisit(cls, i)
            self._case(
                "CONF-INSPECTION-ABSENT",
                "class",
                cls.cid,
                lid,
                f"listed absent by the spot check of {cls.days[i]}, yet signed in that day (代签到)",
            )
            self._knock(
                "CONF-HEADCOUNT", "class", cls.cid, None, "the same spot check counts one fewer present"
            )
            return

    def _b_headcount(self) -> None:
        for cls in self._classes(lambda c: len(c.days) >= 6 and len(c.roster) >= 20):
            i = self.rng.randint(1, len(cls.days) - 3)
            present = [x for x in cls.present(i) if x not in cls.protected]
            k = self.rng.randint(5, 8)
            if len(present) <= k:
                continue
            cls.slot = "CONF-HEADCOUNT"
            missing = frozenset(self.rng.sample(present, k))
            bad = dict.fromkeys(("plan", "teachers", "facilities", "practical", "textbooks"), True)
            bad["attendance"] = False
            self._spot(
                cls,
                i,
                "fail",
                [
                    {
                        "code": "headcount_short",
                        "note": f"实到{len(present) - k}人，考勤表登记{len(present)}人",
                    }
                ],
                bad,
                missing=missing,
                actor=self.rng.choice(["insp-640400", f"fin-{cls.county}"]),
            )
            self._revisit(cls, i)
            self._case(
                "CONF-HEADCOUNT",
                "class",
                cls.cid,
                None,
                f"spot check on {cls.days[i]} found {len(present) - k} present; attendance lists {len(present)}",
            )
            return

    def _b_sod(self) -> None:
        for cls in self._classes(lambda c: len(c.days) >= 4 and c.training_claim() is not None):
            cls.slot = "SOD-REVIEWER-ONLY-CHECK"
            cls.no_visits = True
            hr = f"hr-{cls.county}"
            ok = dict.fromkeys(
                ("plan", "teachers", "facilities", "practical", "textbooks", "attendance"), True
            )
            cls.inspections = []
            for i in sorted(self.rng.sample(range(1, len(cls.days) - 1), 2)):
                cls.inspections.append(
                    _Insp(
                        self._insp_id(cls.start.year),
                        "site_visit",
                        hr,
                        cls.days[i],
                        "class",
                        cls.cid,
                        cls.cid,
                        dict(ok),
                        [],
                        "pass",
                        day_index=i,
                    )
                )
            self._case(
                "SOD-REVIEWER-ONLY-CHECK",
                "class",
                cls.cid,
                None,
                f"only {hr}, which also approves the claims, ever inspected this class (谁审核、谁监管)",
            )
            return

    def _b_uninspected(self) -> None:
        for cls in self._classes(lambda c: c.training_claim() is not None):
            cls.slot = "INSP-UNINSPECTED"
            cls.no_visits = True
            cls.inspections = []
            self._case(
                "INSP-UNINSPECTED", "class", cls.cid, None, "paid without any site visit or spot check"
            )
            return

    def _b_failed_paid(self) -> None:
        for cls in self._classes(lambda c: len(c.days) >= 4 and c.training_claim() is not None):
            cls.slot = "INSP-FAILED-PAID"
            cls.inspections = [
                x
                for x in cls.inspections
                if x.method not in ("site_visit", "spot_check")
                or (x.day_index is not None and x.day_index < len(cls.days) - 1)
            ]
            bad = dict.fromkeys(("plan", "teachers", "facilities", "textbooks"), True)
            bad.update(practical=False, attendance=False)
            self._spot(
                cls,
                len(cls.days) - 1,
                "fail",
                [{"code": "practical_not_in_place", "note": "无实训设备，实操课未开展；考勤不规范"}],
                bad,
                actor=self.rng.choice([f"pov-{cls.county}", "insp-640400", "aud-640400"]),
            )
            self._case(
                "INSP-FAILED-PAID",
                "class",
                cls.cid,
                None,
                "last spot check failed (practical training not in place), claim paid anyway",
            )
            return

    def _b_after_withdrawal(self) -> None:
        for cls in self._classes(lambda c: len(c.days) >= 8 and bool(self._claimed(c))):
            lid = self.rng.choice(self._claimed(cls))
            cls.slot = "CONF-AFTER-WITHDRAWAL"
            cls.withdrawn[lid] = cls.days[self.rng.randint(3, len(cls.days) - 3)]
            cls.keep_after_withdrawal.add(lid)
            self._taint(lid)
            self._case(
                "CONF-AFTER-WITHDRAWAL",
                "class",
                cls.cid,
                lid,
                f"withdrawn on {cls.withdrawn[lid]} (外出务工), still signed in afterwards and claimed",
            )
            return

    def _b_cert_before_end(self) -> None:
        for cls in self._classes(
            lambda c: c.occ.cert_type == "training_completion" and bool(self._claimed(c)) and len(c.days) >= 6
        ):
            lid = self.rng.choice(self._claimed(cls))
            cls.slot = "TIME-CERT-BEFORE-END"
            cert = cls.certs[lid]
            cert.issued_on = _prev_working_day(cls.end - self.rng.randint(2, 4) * DAY)
            self._taint(lid)
            self._case(
                "TIME-CERT-BEFORE-END",
                "certificate",
                cert.no,
                lid,
                f"certificate issued {cert.issued_on}, before the last class day {cls.end} (提前发证)",
            )
            return

    def _b_no_review(self) -> None:
        for cls in self._classes(lambda c: c.training_claim() is not None):
            cls.slot = "SEQ-PAID-WITHOUT-REVIEW"
            cls.review = None
            claim = cls.training_claim()
            assert claim is not None
            self._case(
                "SEQ-PAID-WITHOUT-REVIEW",
                "claim",
                claim.cid,
                None,
                "training claim approved and paid without any completion review (未结业审核)",
            )
            return

    def _b_visit_denial(self) -> None:
        for cls in self._classes(lambda c: bool(self._claimed(c)) and not c.no_visits, slot=None):
            claim = cls.training_claim()
            assert claim is not None
            lid = self.rng.choice(self._claimed(cls))
            day = next_working_day(claim.payments[0].value + self.rng.randint(10, 40) * DAY)
            if day > self.cfg.end:
                continue
            self._taint(lid)
            code = self.rng.choice(["attendance_denied", "payment_denied"])
            note = (
                "本人称从未参加该培训"
                if code == "attendance_denied"
                else "本人称未收到任何补贴，培训期间仅到场两天"
            )
            cls.pdas.append((_prev_working_day(day - DAY), "insp-640400", lid, "电话询访前调取本人联系方式"))
            cls.inspections.append(
                _Insp(
                    self._insp_id(day.year),
                    "phone_visit",
                    "insp-640400",
                    day,
                    "laborer",
                    lid,
                    cls.cid,
                    None,
                    [{"laborer_id": lid, "code": code, "note": note}],
                    "fail",
                )
            )
            self._case(
                "CONF-VISIT-DENIAL",
                "laborer",
                lid,
                lid,
                f"phone visit: the labourer denies ({code}) the training paid on {claim.cid}",
            )
            return

    # ---- phase C: claims and payments -----------------------------------------------------------------
    def _force_failure(self, cls: _Class) -> str | None:
        """Turn one claimed passer of an appraised class into an appraisal failure."""
        options = [x for x in self._claimed(cls) if cls.certs[x].issuer == "apc-640400"]
        if not options:
            return None
        lid = self.rng.choice(options)
        cert = cls.certs.pop(lid)
        exam = min(next_working_day(cls.end + 3 * DAY), cert.issued_on)
        cls.failures[lid] = (exam, "apc-640400")
        for claim in cls.claims:
            if claim.kind in ("training", "appraisal"):
                claim.lines = [ln for ln in claim.lines if ln.lid != lid]
        self._taint(lid)
        return lid

    def _c_dup_claim_line(self) -> None:
        for cls in self._classes(lambda c: len(self._claimed(c)) >= 3, slot="claim"):
            c1 = cls.training_claim()
            assert c1 is not None
            day = next_working_day(c1.payments[0].value + self.rng.randint(20, 40) * DAY)
            if day + 60 * DAY > self.cfg.end:
                continue
            cls.claim_slot = "DUP-CLAIM-LINE"
            picked = self.rng.sample(self._claimed(cls), 2)
            lines = [_Line(ln.lid, ln.amount, ln.cert) for ln in c1.lines if ln.lid in picked]
            c2 = _Claim(
                self._claim_id(day), "training", cls.inst, cls.cid, cls.county, lines, c1.account, day
            )
            c2.slot = "dup"
            self._flow(c2, self.rng)
            cls.claims.append(c2)
            self._taint(*picked)
            for ln in lines:
                self._case(
                    "DUP-CLAIM-LINE",
                    "claim",
                    c2.cid,
                    ln.lid,
                    f"claimed again in {c2.cid} after {c1.cid} had paid the same line (重复申报)",
                )
                self._knock(
                    "DUP-CERTIFICATE", "certificate", ln.cert or "", None, "the certificate cited twice"
                )
                self._knock("DUP-REPEAT-TRAINING", "laborer", ln.lid, ln.lid, "paid twice for one training")
            self._knock(
                "FIN-SPLIT-CLAIM", "class", cls.cid, None, "two training claims exceed standard × completers"
            )
            return

    def _c_split(self) -> None:
        for cls in self._classes(lambda c: len(self._claimed(c)) >= 8, slot="claim"):
            c1 = cls.training_claim()
            assert c1 is not None and c1.approve is not None
            # enough repeated lines to exceed the standard × completers whatever the headroom left
            # by completers who were not claimed (failed appraisal, non-poor)
            k = max(4, len(cls.completers) - len(c1.lines) + 2)
            if k > len(self._claimed(cls)):
                continue
            day = next_working_day(c1.approve + self.rng.randint(5, 20) * DAY)
            cls.claim_slot = "FIN-SPLIT-CLAIM"
            picked = self.rng.sample(self._claimed(cls), k)
            lines = [_Line(ln.lid, ln.amount) for ln in c1.lines if ln.lid in picked]
            c2 = _Claim(
                self._claim_id(day), "training", cls.inst, cls.cid, cls.county, lines, c1.account, day
            )
            c2.slot = "split"
            c2.verify = next_working_day(day + self.rng.randint(1, 5) * DAY)
            cls.claims.append(c2)
            self._taint(*picked)
            self._case(
                "FIN-SPLIT-CLAIM",
                "class",
                cls.cid,
                None,
                f"second 'supplementary' training claim {c2.cid} pushes the class above standard × completers",
            )
            for ln in lines:
                self._knock(
                    "DUP-CLAIM-LINE", "claim", c2.cid, ln.lid, "the supplementary claim repeats this line"
                )
            return

    def _c_dup_certificate(self) -> None:
        for cls in self._classes(
            lambda c: c.occ.cert_type in _APPRAISAL_FEN and len(self._claimed(c)) >= 3, slot="claim"
        ):
            claim = cls.training_claim()
            assert claim is not None
            failed = self._force_failure(cls)
            if failed is None:
                continue
            cls.claim_slot = "DUP-CERTIFICATE"
            other = self.rng.choice([ln for ln in claim.lines if ln.lid in self._claimed(cls)])
            amount = _training_fen(cls.occ, cls.occ.cert_type)
            claim.lines.append(_Line(failed, amount, other.cert))
            self._case(
                "DUP-CERTIFICATE",
                "certificate",
                other.cert or "",
                None,
                f"certificate of {other.lid} also cited for {failed}, who failed the appraisal (冒用证书)",
            )
            self._knock(
                "SEQ-PAID-WITHOUT-CERTIFICATE",
                "claim",
                claim.cid,
                failed,
                "the borrower holds no certificate",
            )
            return

    def _c_no_certificate(self) -> None:
        for cls in self._classes(
            lambda c: c.occ.cert_type in _APPRAISAL_FEN and len(self._claimed(c)) >= 3, slot="claim"
        ):
            claim = cls.training_claim()
            assert claim is not None
            failed = self._force_failure(cls)
            if failed is None:
                continue
            cls.claim_slot = "SEQ-PAID-WITHOUT-CERTIFICATE"
            bogus = f"CERT-{_CERT_ABBR[cls.occ.cert_type]}-{cls.end.year}-9{self._next('BOGUS'):05d}"
            claim.lines.append(_Line(failed, _training_fen(cls.occ, cls.occ.cert_type), bogus))
            self._case(
                "SEQ-PAID-WITHOUT-CERTIFICATE",
                "claim",
                claim.cid,
                failed,
                f"paid on certificate {bogus}, which was never issued: the labourer failed the appraisal",
            )
            return

    def _c_unappraised(self) -> None:
        for cls in self._classes(lambda c: c.occ.in_catalog and len(self._claimed(c)) >= 3, slot="claim"):
            claim = cls.training_claim()
            assert claim is not None
            failed = self._force_failure(cls)
            if failed is None:
                continue
            cls.claim_slot = "STD-UNAPPRAISED"
            issued = next_working_day(cls.end + 2 * DAY)
            cert = _Cert(
                self._cert_no("training_completion", issued.year),
                "training_completion",
                None,
                cls.inst,
                issued,
                failed,
            )
            cls.extra_certs.append(cert)
            claim.lines.append(_Line(failed, 80000, cert.no))
            self._case(
                "STD-UNAPPRAISED",
                "claim",
                claim.cid,
                failed,
                f"in-catalogue occupation {cls.occ.name}: appraisal failed, paid on a training-completion "
                f"certificate {cert.no} instead (未经鉴定)",
            )
            return

    def _c_no_identity(self) -> None:
        for cls in sorted(self._classes(lambda c: bool(self._claimed(c)), slot="claim"), key=lambda c: c.la):
            claim = cls.training_claim()
            assert claim is not None
            lid = self.rng.choice(self._claimed(cls))
            cls.claim_slot = "SEQ-PAID-WITHOUT-IDENTITY"
            self.labs[lid].confirm = False
            claim.verify_rejected = [lid]
            self._taint(lid)
            self._case(
                "SEQ-PAID-WITHOUT-IDENTITY",
                "claim",
                claim.cid,
                lid,
                "identity never confirmed and rejected at claim verification, approved and paid anyway",
            )
            for other in self._other_claims(lid, claim):
                self._knock(
                    "SEQ-PAID-WITHOUT-IDENTITY", "claim", other.cid, lid, "the same unconfirmed labourer"
                )
            return

    def _c_over_standard(self) -> None:
        for cls in self._classes(lambda c: bool(self._claimed(c)), slot="claim"):
            claim = cls.training_claim()
            assert claim is not None
            cls.claim_slot = "STD-OVER-STANDARD"
            picked = self.rng.sample(self._claimed(cls), min(2, len(self._claimed(cls))))
            for line in claim.lines:
                if line.lid in picked:
                    line.amount = (line.amount or 0) + self.rng.choice([20000, 30000, 50000])
                    self._case(
                        "STD-OVER-STANDARD",
                        "claim",
                        claim.cid,
                        line.lid,
                        f"line of {line.amount / 100:.0f} yuan above the standard (超标准申领)",
                    )
            self._taint(*picked)
            return

    def _c_not_poor(self) -> None:
        for cls in self._classes(
            lambda c: c.training_claim() is not None and c.occ.cert_type != "driving_licence", slot="claim"
        ):
            claim = cls.training_claim()
            assert claim is not None
            cert_any = next(iter(cls.certs.values()), None)
            if cert_any is None:
                continue
            cls.claim_slot = "ELIG-NOT-POOR"
            lab = next(
                (
                    self.labs[x]
                    for x in cls.completers
                    if self.labs[x].category == "non_poor" and x in cls.certs and not self.labs[x].tainted
                ),
                None,
            )
            if lab is None:
                lab = self._new_trainee(
                    cls, "female" if self.rng.random() < cls.occ.female else "male", category="non_poor"
                )
                lab.category = "non_poor"
                self._enrol(cls, lab, when=cls.enrol[cls.roster[0]])
                cls.protected.add(lab.lid)
                cls.completers.append(lab.lid)
                cls.certs[lab.lid] = _Cert(
                    self._cert_no(cert_any.ctype, cert_any.issued_on.year),
                    cert_any.ctype,
                    cert_any.level,
                    cert_any.issuer,
                    cert_any.issued_on,
                    lab.lid,
                )
            claim.lines.append(
                _Line(lab.lid, _training_fen(cls.occ, cls.certs[lab.lid].ctype), cls.certs[lab.lid].no)
            )
            self._taint(lab.lid)
            self._case(
                "ELIG-NOT-POOR",
                "claim",
                claim.cid,
                lab.lid,
                "non-poor labourer claimed and paid from the poverty-only training fund",
            )
            return

    def _other_claim_hosts(self, kinds: tuple[str, ...]) -> Iterator[_Claim]:
        """Paid living-allowance or appraisal claims untouched by other injections, lazily."""
        classes = [c for c in self.classes if c.state == "normal"]
        self.rng.shuffle(classes)
        for cls in classes:
            claims = [c for c in cls.claims if c.kind in kinds]
            self.rng.shuffle(claims)
            for claim in claims:
                if (
                    claim.slot is None
                    and claim.reject is None
                    and claim.payments
                    and all(not self.labs[ln.lid].tainted for ln in claim.lines)
                ):
                    yield claim

    def _c_dup_payment(self) -> None:
        for claim in self._other_claim_hosts(("living_allowance", "appraisal")):
            first = claim.payments[0]
            if first.returned:
                continue
            value = self._pay_date(first.value + self.rng.randint(1, 5) * DAY)
            if value + 60 * DAY > self.cfg.end:
                continue
            claim.slot = "DUP-PAYMENT"
            self._payment(claim, value)
            aid = anomaly_id("DUP-PAYMENT", "claim", claim.cid, None)
            when = next_working_day(value + self.rng.randint(20, 50) * DAY)
            claim.recoveries.append(
                (
                    f"R-{when.year}-{self._next('R' + str(when.year)):05d}",
                    when,
                    -1,
                    "重复拨付，银行对账发现后追回",
                    aid,
                )
            )
            claim.disposals.append((next_working_day(when + 2 * DAY), aid, "rectified"))
            self._case("DUP-PAYMENT", "claim", claim.cid, None, f"{claim.kind} claim paid twice (重复拨付)")
            self._knock("FIN-OVERPAID", "claim", claim.cid, None, "two payments exceed the approved total")
            return

    def _c_paid_no_approval(self) -> None:
        for claim in self._other_claim_hosts(("living_allowance",)):
            claim.slot = "SEQ-PAID-WITHOUT-APPROVAL"
            claim.approve = None
            self._case(
                "SEQ-PAID-WITHOUT-APPROVAL",
                "claim",
                claim.cid,
                None,
                "living allowance paid by finance before the HR bureau approved it",
            )
            self._knock(
                "FIN-OVERPAID", "claim", claim.cid, None, "no approval counts as an approved total of 0"
            )
            return

    def _c_overpaid(self) -> None:
        for claim in self._other_claim_hosts(("appraisal", "living_allowance")):
            if claim.payments[0].returned or claim.approve is None:
                continue
            claim.slot = "FIN-OVERPAID"
            pay = claim.payments[0]
            pay.delta = self.rng.choice([10000, 30000, 100000])
            when = next_working_day(pay.value + self.rng.randint(30, 60) * DAY)
            if when <= self.cfg.end:
                aid = anomaly_id("FIN-OVERPAID", "claim", claim.cid, None)
                claim.recoveries.append(
                    (
                        f"R-{when.year}-{self._next('R' + str(when.year)):05d}",
                        when,
                        pay.delta,
                        "拨付金额录入错误，多付部分追回",
                        aid,
                    )
                )
            self._case(
                "FIN-OVERPAID",
                "claim",
                claim.cid,
                None,
                f"paid {pay.delta / 100:.0f} yuan more than approved (金额录入错误)",
            )
            return

    def _c_fund_mismatch(self) -> None:
        for claim in self._other_claim_hosts(("living_allowance",)):
            pay = claim.payments[0]
            if pay.returned:
                continue
            claim.slot = "FIN-FUND-MISMATCH"
            pay.fund = self._fund_id(pay.value.year, claim.jur, "training")
            self._case(
                "FIN-FUND-MISMATCH",
                "payment",
                pay.pid,
                None,
                f"living allowance paid out of the training fund {pay.fund} (挪用专项资金)",
            )
            return

    def _c_payee_mismatch(self) -> None:
        for claim in self._other_claim_hosts(("living_allowance",)):
            pay = claim.payments[0]
            if pay.returned:
                continue
            claim.slot = "FIN-PAYEE-MISMATCH"
            pay.account = self._card(self.rng)
            self._case(
                "FIN-PAYEE-MISMATCH",
                "payment",
                pay.pid,
                None,
                "living allowance paid to a card other than the one claimed (a village cadre's)",
            )
            return

    def _c_weekend(self) -> None:
        for claim in self._other_claim_hosts(("living_allowance", "appraisal")):
            pay = claim.payments[0]
            if pay.returned or claim.approve is None:
                continue
            day = claim.approve + 5 * DAY
            while is_working_day(day):
                day += DAY
            if day.month == 1 and day.day < 14 or day > self.cfg.end:
                continue
            claim.slot = "TIME-WEEKEND-PAYMENT"
            pay.value = day
            fund = self.funds[pay.fund]
            pay.fund = self._fund_id(day.year, fund.jur, fund.purpose)
            self._case(
                "TIME-WEEKEND-PAYMENT",
                "payment",
                pay.pid,
                None,
                f"value date {day} ({['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][day.weekday()]}) "
                "is not a working day",
            )
            return

    def _c_stale(self) -> None:
        for claim in self._other_claim_hosts(("appraisal",)):
            if claim.approve is None or claim.approve > self.cfg.stale_before:
                continue
            claim.slot = "TIME-STALE-CLAIM"
            claim.payments = []
            self._case(
                "TIME-STALE-CLAIM",
                "claim",
                claim.cid,
                None,
                f"approved {claim.approve} and never paid (资金滞留)",
            )
            return

    def _c_approved_over(self) -> None:
        for claim in self._other_claim_hosts(("appraisal",)):
            if claim.approve is None:
                continue
            claim.slot = "FIN-APPROVED-OVER-CLAIM"
            line = self.rng.choice(claim.lines)
            claim.approve_override[line.lid] = (line.amount or 0) + self.rng.choice([5000, 10000])
            self._case(
                "FIN-APPROVED-OVER-CLAIM",
                "claim",
                claim.cid,
                None,
                f"approval raises the line of {line.lid} above the amount claimed",
            )
            self._knock(
                "STD-OVER-STANDARD", "claim", claim.cid, line.lid, "the approved line is above the standard"
            )
            return

    def _c_shared_account(self) -> None:
        for cls in self._classes(lambda c: c.la, slot=None):
            free = [c for c in cls.claims if c.kind == "living_allowance" and c.slot is None
                    and not self.labs[c.lines[0].lid].tainted and not c.payments[0].returned]  # fmt: skip
            picked: list[_Claim] = []
            households: set[str] = set()
            for claim in free:
                hh = self.labs[claim.lines[0].lid].hh.hid
                if hh not in households:
                    picked.append(claim)
                    households.add(hh)
                if len(picked) == 3:
                    break
            if len(picked) < 3:
                continue
            account = self._card(self.rng)
            for claim in picked:
                claim.slot = "NET-SHARED-ACCOUNT"
                claim.account = account
            self._case(
                "NET-SHARED-ACCOUNT",
                "account",
                "raw:" + account,
                None,
                f"one card (a village cadre's, 代领) receives the living allowances of "
                f"{', '.join(c.lines[0].lid for c in picked)} — 3 households; subject id is the raw "
                "account number, the lead maps it to its payee_account HMAC",
            )
            return

    # ---- phase D: employment ------------------------------------------------------------------------
    def _d_six_months(self) -> None:
        options = [e for e in self.emps if e.claimed and len(e.payroll) >= 6 and e.class_id is None
                   and not self.labs[e.lid].tainted]  # fmt: skip
        self.rng.shuffle(options)
        for emp in options:
            claim = next(c for c in self.emp_claims if any(ln.emp == emp.eid for ln in c.lines))
            emp.payroll = emp.payroll[:4]
            y, m, _ = emp.payroll[-1]
            emp.ended = _month_end(y, m) - self.rng.randint(0, 8) * DAY
            self._taint(emp.lid)
            self._case(
                "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS",
                "claim",
                claim.cid,
                emp.lid,
                f"{emp.eid} left after 4 months of payroll; the employer's proof still lists six (虚报稳岗)",
            )
            return

    # ---- phase E: funds ------------------------------------------------------------------------------
    def _e_overdrawn(self) -> None:
        options = [f for f in self.funds.values() if f.purpose in ("living_allowance", "employer")
                   and f.jur != CITY and not f.overdrawn and f.need >= 5_000_000]  # fmt: skip
        options.sort(key=lambda f: f.fid)
        if not options:
            return
        fund = self.rng.choice(options)
        unit = 100_000  # 1,000 yuan
        total = int(fund.need * self.rng.uniform(0.8, 0.9)) // unit * unit
        fund.overdrawn = True
        fund.adjustments = []
        before = sum(a for *_, a in fund.allocations)
        left = total
        allocs = []
        for k, (day, signer, source, amount) in enumerate(fund.allocations):
            share = (
                left if k == len(fund.allocations) - 1 else min(left, total * amount // before // unit * unit)
            )
            left -= share
            if share > 0:
                allocs.append((day, signer, source, share))
        fund.allocations = allocs
        self._case(
            "FIN-FUND-OVERDRAWN",
            "fund",
            fund.fid,
            None,
            f"payments of {fund.need / 100:.0f} yuan from a fund allocated {total / 100:.0f} (超支付)",
        )

    # ---- phase F: key revocation ---------------------------------------------------------------------
    def _f_revocation(self) -> None:
        privates = [a for a, j, _ in self.institutions if a.endswith(("-02", "-03")) and j != CITY]
        classes = [c for c in self.classes if c.state == "normal" and c.inst in privates and len(c.days) >= 6]
        if not classes:
            return
        cls = max(classes, key=lambda c: (c.start, c.cid))
        day = cls.days[len(cls.days) // 2]
        effective = dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        self.revocation = (cls.inst, effective, "签名私钥被该机构离职人员带走并冒用，自其离职之日起作废")
        self._case(
            "TIME-SIGNED-AFTER-REVOCATION",
            "actor",
            cls.inst,
            None,
            f"key of {cls.inst} revoked with effective_at {effective.isoformat()}: everything it signed "
            'since (attendance, completion, claims) is covered; KeyRevoked carries key_id "" and key_of',
        )

    # ================================================================================================
    # Entities and the stream
    # ================================================================================================
    def _entities(self) -> list[tuple[D, int, str, Any]]:
        ents: list[tuple[D, int, str, Any]] = []
        ents.append((D(2018, 12, 18), 0, "setup", None))
        first_alloc = min((a[0] for f in self.funds.values() for a in f.allocations), default=None)
        if first_alloc is not None:
            ents.append((first_alloc, 1, "funds", None))
        for hh in self.households:
            assert hh.reg is not None
            ents.append((hh.reg, len(ents), "household", hh))
        for cls in self.classes:
            ents.append((cls.request, len(ents), "class", cls))
            for claim in cls.claims:  # each claim its own entity: started only when it is filed
                ents.append((claim.date, len(ents), "claim", claim))
        for emp in self.emps:
            ents.append((emp.start, len(ents), "employment", emp))
        for claim in self.emp_claims:
            ents.append((claim.date, len(ents), "claim", claim))
        if self.recons:
            ents.append((self.recons[0][0], len(ents), "recon", None))
        ents.sort(key=lambda e: (e[0], e[1]))
        return ents

    def _events(self, kind: str, ref: Any) -> list[_Timed]:
        raw: list[_Raw] = []
        key = (
            ref.hid
            if kind == "household"
            else ref.cid
            if kind in ("class", "claim")
            else ref.eid
            if kind == "employment"
            else kind
        )
        rng = random.Random(f"sim:{self.seed}:events:{kind}:{key}")
        getattr(self, "_ev_" + kind)(ref, raw)
        return _timed(raw, rng)

    def count(self) -> int:
        n = sum(len(self._events(kind, ref)) for _, _, kind, ref in self._entities())
        return n + (1 if self.revocation else 0)

    def stream(self) -> Iterator[dict[str, Any]]:
        pending = self._entities()
        heap: list[tuple[int, int, int, _Timed, Iterator[_Timed]]] = []
        pi = 0
        n = 0
        last_t = 0
        prefix = f"sim-{self.seed}-"
        while heap or pi < len(pending):
            while pi < len(pending) and (not heap or pending[pi][0].toordinal() * 86400 <= heap[0][0]):
                _, idx, kind, ref = pending[pi]
                pi += 1
                it = iter(self._events(kind, ref))
                first = next(it, None)
                if first is not None:
                    heapq.heappush(heap, (first[0], idx, 0, first, it))
            if not heap:
                continue
            t, idx, k, ev, it = heapq.heappop(heap)
            nxt = next(it, None)
            if nxt is not None:
                heapq.heappush(heap, (nxt[0], idx, k + 1, nxt, it))
            n += 1
            last_t = max(last_t, t)
            intent: dict[str, Any] = {
                "actor": ev[1],
                "type": ev[2],
                "at": _at(t),
                "body": ev[3],
                "nonce": f"{prefix}{n:08d}",
            }
            if ev[4] is not None:
                intent["pii"] = ev[4]
            yield intent
        if self.revocation is not None:
            actor, effective, reason = self.revocation
            n += 1
            yield {
                "actor": "admin",
                "type": "KeyRevoked",
                "at": _at(last_t + 3600),
                "body": {
                    "actor_id": actor,
                    "key_id": "",
                    "reason": reason,
                    "effective_at": effective.isoformat(),
                },
                "nonce": f"{prefix}{n:08d}",
                "key_of": actor,
            }

    # ---- event builders ------------------------------------------------------------------------------
    def _ev_setup(self, _: None, raw: list[_Raw]) -> None:
        for sid, kind, programme, ctype, occupation, amount, per in _STANDARDS:
            body: dict[str, Any] = {"standard_id": sid, "kind": kind}
            if programme is not None:
                body["programme"] = programme
            if ctype is not None:
                body["certificate_type"] = ctype
            if occupation is not None:
                body["occupation"] = occupation
            body.update(amount_fen=amount, per=per, effective_from="2018-01-01")
            raw.append((D(2018, 12, 18), P_STD, "admin", "SubsidyStandardSet", body, None))

    def _ev_funds(self, _: None, raw: list[_Raw]) -> None:
        for fund in sorted(self.funds.values(), key=lambda f: f.fid):
            for day, signer, source, amount in fund.allocations:
                raw.append(
                    (
                        day,
                        P_FUND,
                        signer,
                        "FundAllocated",
                        {
                            "fund_id": fund.fid,
                            "jurisdiction": fund.jur,
                            "source": source,
                            "purpose": fund.purpose,
                            "year": fund.year,
                            "amount_fen": amount,
                        },
                        None,
                    )
                )
            for day, signer, delta, reason in fund.adjustments:
                raw.append(
                    (
                        day,
                        P_FUND,
                        signer,
                        "FundAdjusted",
                        {"fund_id": fund.fid, "delta_fen": delta, "reason": reason},
                        None,
                    )
                )

    def _ev_household(self, hh: _Household, raw: list[_Raw]) -> None:
        assert hh.reg is not None and hh.confirm is not None
        pov = f"pov-{hh.county}"
        for lab in hh.members:
            raw.append(
                (
                    hh.reg,
                    P_REG,
                    hh.registrar,
                    "LaborerRegistered",
                    {
                        "laborer_id": lab.lid,
                        "household_id": hh.hid,
                        "jurisdiction": hh.county,
                        "township": hh.township,
                        "village": hh.village,
                        "birth_date": lab.birth.isoformat(),
                        "gender": lab.gender,
                        "category": lab.category,
                        "id_fingerprint": "",
                        "pii_commitment": "",
                    },
                    {
                        "name": lab.name,
                        "id_number": lab.id_number,
                        "phone": lab.phone,
                        "bank_account": lab.account,
                    },
                )
            )
        for lab in hh.members:
            if lab.rejected:
                raw.append(
                    (
                        hh.confirm,
                        P_CONFIRM,
                        pov,
                        "IdentityRejected",
                        {
                            "laborer_id": lab.lid,
                            "reason": "经扶贫开发信息系统比对，不属于建档立卡贫困家庭劳动力",
                        },
                        None,
                    )
                )
            elif lab.confirm:
                basis = {
                    "poor": "建档立卡贫困户，扶贫开发信息系统比对一致",
                    "eco_migrant": "“十二五”生态移民，移民安置花名册比对一致",
                    "two_after_student": "建档立卡贫困家庭两后生，学籍与户籍信息核实一致",
                    "non_poor": "非建档立卡户，身份信息核实无误",
                }[lab.category]
                raw.append(
                    (
                        hh.confirm,
                        P_CONFIRM,
                        pov,
                        "IdentityConfirmed",
                        {"laborer_id": lab.lid, "basis": basis},
                        None,
                    )
                )
            if lab.correction is not None:
                day, village = lab.correction
                raw.append(
                    (
                        day,
                        P_CORRECT,
                        pov,
                        "LaborerCorrected",
                        {"laborer_id": lab.lid, "reason": "村组信息录入错误，据户籍更正", "village": village},
                        None,
                    )
                )

    def _ev_class(self, cls: _Class, raw: list[_Raw]) -> None:
        occ = cls.occ
        hr = f"hr-{cls.county}"
        raw.append(
            (
                cls.request,
                P_REQUEST,
                cls.inst,
                "ClassOpeningRequested",
                {
                    "class_id": cls.cid,
                    "programme": occ.programme,
                    "occupation": occ.name,
                    "in_catalog": occ.in_catalog,
                    "jurisdiction": cls.county,
                    "site": cls.site,
                    "planned_start": cls.start.isoformat(),
                    "planned_end": cls.planned_end.isoformat(),
                    "capacity": cls.capacity,
                    "hours_per_day": 7 if occ.programme == "driver" else 8,
                    "practical_percent": 70 if occ.programme == "two_after_student" else 75,
                    "subsidy_per_trainee_fen": _training_fen(occ, occ.cert_type),
                },
                None,
            )
        )
        if cls.state == "rejected":
            raw.append(
                (
                    cls.approve,
                    P_CLS_APPROVE,
                    hr,
                    "ClassOpeningRejected",
                    {"class_id": cls.cid, "reason": "该工种不在本年度培训计划内，请调整后重新申报"},
                    None,
                )
            )
            return
        raw.append((cls.approve, P_CLS_APPROVE, hr, "ClassOpeningApproved", {"class_id": cls.cid}, None))
        if cls.state == "cancelled":
            assert cls.cancel is not None
            day, who, reason = cls.cancel
            raw.append((day, P_CANCEL, who, "ClassCancelled", {"class_id": cls.cid, "reason": reason}, None))
            return
        for lid in cls.roster:
            raw.append(
                (
                    cls.enrol[lid],
                    P_ENROL,
                    cls.inst,
                    "TraineeEnrolled",
                    {"class_id": cls.cid, "laborer_id": lid},
                    None,
                )
            )
        for lid, day in cls.withdrawn.items():
            raw.append(
                (
                    day,
                    P_WITHDRAW,
                    cls.inst,
                    "TraineeWithdrawn",
                    {"class_id": cls.cid, "laborer_id": lid, "reason": "外出务工，本人申请退出培训"},
                    None,
                )
            )
        presents: dict[int, list[str]] = {}
        for i, day in enumerate(cls.days):
            present = cls.present(i)
            presents[i] = present
            t, p = cls.hours[i]
            signed = day + cls.attendance_delay.get(i, 0) * DAY
            raw.append(
                (
                    signed,
                    P_ATTEND,
                    cls.inst,
                    "AttendanceRecorded",
                    {
                        "class_id": cls.cid,
                        "date": day.isoformat(),
                        "trainees": [
                            {"laborer_id": lid, "theory_hours": t, "practical_hours": p} for lid in present
                        ],
                    },
                    None,
                )
            )
        for insp in cls.inspections:
            present_list: list[str] = []
            absent_list: list[str] = []
            if insp.day_index is not None:
                present = presents[insp.day_index]
                pset = set(present)
                present_list = [x for x in present if x not in insp.missing and x not in insp.marked_absent]
                absent_list = [
                    x
                    for x in cls.roster
                    if x not in pset and not (x in cls.withdrawn and insp.date >= cls.withdrawn[x])
                ] + sorted(insp.marked_absent)
            body: dict[str, Any] = {
                "inspection_id": insp.iid,
                "method": insp.method,
                "subject_kind": insp.subject_kind,
                "subject_id": insp.subject_id,
                "date": insp.date.isoformat(),
            }
            if insp.class_id is not None:
                body["class_id"] = insp.class_id
            body.update(
                present=present_list,
                absent=absent_list,
                checklist=insp.checklist,
                findings=insp.findings,
                verdict=insp.verdict,
            )
            raw.append(
                (
                    insp.date,
                    P_VISIT if insp.method == "phone_visit" else P_INSPECT,
                    insp.actor,
                    "InspectionRecorded",
                    body,
                    None,
                )
            )
        raw.append(
            (
                cls.end,
                P_COMPLETE,
                cls.inst,
                "ClassCompleted",
                {"class_id": cls.cid, "end_date": cls.end.isoformat(), "completers": cls.completers},
                None,
            )
        )
        for lid, (day, signer) in cls.failures.items():
            raw.append(
                (
                    day,
                    P_FAIL,
                    signer,
                    "AppraisalFailed",
                    {"laborer_id": lid, "class_id": cls.cid, "occupation": occ.name, "date": day.isoformat()},
                    None,
                )
            )
        for cert in list(cls.certs.values()) + cls.extra_certs:
            body = {"certificate_no": cert.no, "certificate_type": cert.ctype}
            if cert.level is not None:
                body["level"] = cert.level
            body.update(
                laborer_id=cert.lid,
                class_id=cls.cid,
                occupation=occ.name,
                issued_on=cert.issued_on.isoformat(),
            )
            raw.append((cert.issued_on, P_CERT, cert.issuer, "CertificateIssued", body, None))
        if cls.review is not None:
            raw.append(
                (
                    cls.review,
                    P_REVIEW,
                    hr,
                    "CompletionReviewed",
                    {
                        "class_id": cls.cid,
                        "approved": True,
                        "note": "结业资料齐全，考勤与实训记录完整，同意结业",
                    },
                    None,
                )
            )
        for day, actor, lid, purpose in cls.pdas:
            raw.append(
                (day, P_PDA, actor, "PersonalDataAccessed", {"laborer_id": lid, "purpose": purpose}, None)
            )

    def _ev_claim(self, claim: _Claim, raw: list[_Raw]) -> None:
        self._claim_events(claim, raw)

    def _claim_events(self, claim: _Claim, raw: list[_Raw]) -> None:
        hr, pov = f"hr-{claim.jur}", f"pov-{claim.jur}"
        lines = []
        for ln in claim.lines:
            line: dict[str, Any] = {"laborer_id": ln.lid, "amount_fen": ln.amount or 0}
            if ln.cert is not None:
                line["certificate_no"] = ln.cert
            if ln.emp is not None:
                line["employment_id"] = ln.emp
            lines.append(line)
        body: dict[str, Any] = {"claim_id": claim.cid, "kind": claim.kind}
        if claim.class_id is not None:
            body["class_id"] = claim.class_id
        body.update(lines=lines, payee_account="", total_fen=claim.total())
        raw.append(
            (claim.date, P_CLAIM, claim.claimant, "SubsidyClaimed", body, {"bank_account": claim.account})
        )
        if claim.reject is not None:
            raw.append(
                (
                    claim.reject[0],
                    P_REJECT,
                    hr,
                    "ClaimRejected",
                    {"claim_id": claim.cid, "reason": claim.reject[1]},
                    None,
                )
            )
            return
        if claim.verify is not None:
            raw.append(
                (
                    claim.verify,
                    P_VERIFY,
                    pov,
                    "ClaimIdentityVerified",
                    {"claim_id": claim.cid, "rejected_laborers": list(claim.verify_rejected)},
                    None,
                )
            )
        if claim.approve is not None:
            approved = claim.approved_lines()
            raw.append(
                (
                    claim.approve,
                    P_APPROVE,
                    hr,
                    "ClaimApproved",
                    {
                        "claim_id": claim.cid,
                        "lines": [{"laborer_id": lid, "amount_fen": a} for lid, a in approved],
                        "total_fen": sum(a for _, a in approved),
                    },
                    None,
                )
            )
        for pay in claim.payments:
            fin = f"fin-{self.funds[pay.fund].jur}"
            raw.append(
                (
                    pay.value,
                    P_PAY,
                    fin,
                    "PaymentDisbursed",
                    {
                        "payment_id": pay.pid,
                        "claim_id": claim.cid,
                        "fund_id": pay.fund,
                        "amount_fen": pay.amount or 0,
                        "payee_account": "",
                        "bank_reference": pay.bank_ref,
                        "value_date": pay.value.isoformat(),
                    },
                    {"bank_account": pay.account or claim.account},
                )
            )
            if pay.returned is not None:
                raw.append(
                    (
                        pay.returned[0],
                        P_RETURN,
                        fin,
                        "PaymentReturned",
                        {"payment_id": pay.pid, "reason": pay.returned[1]},
                        None,
                    )
                )
        fin = f"fin-{self.funds[claim.payments[0].fund].jur}" if claim.payments else f"fin-{claim.jur}"
        for rid, day, amount, reason, aid in claim.recoveries:
            if amount < 0:  # the whole duplicate payment
                amount = claim.payments[-1].amount or 0
            rbody: dict[str, Any] = {
                "recovery_id": rid,
                "claim_id": claim.cid,
                "amount_fen": amount,
                "reason": reason,
            }
            if aid is not None:
                rbody["anomaly_id"] = aid
            raw.append((day, P_RECOVER, fin, "FundsRecovered", rbody, None))
        for day, aid, disposition in claim.disposals:
            raw.append(
                (
                    day,
                    P_DISPOSE,
                    "insp-640400",
                    "AnomalyDisposed",
                    {
                        "anomaly_id": aid,
                        "disposition": disposition,
                        "note": "经核查属实，责令追回资金并约谈培训机构负责人"
                        if disposition == "confirmed"
                        else "已追回重复拨付资金，完成整改",
                    },
                    None,
                )
            )
        for day, actor, lid, purpose in claim.pdas:
            raw.append(
                (day, P_PDA, actor, "PersonalDataAccessed", {"laborer_id": lid, "purpose": purpose}, None)
            )

    def _ev_employment(self, emp: _Emp, raw: list[_Raw]) -> None:
        body: dict[str, Any] = {
            "employment_id": emp.eid,
            "laborer_id": emp.lid,
            "position": emp.position,
            "start_date": emp.start.isoformat(),
        }
        if emp.class_id is not None:
            body["class_id"] = emp.class_id
        raw.append((emp.start, P_EMP, emp.employer, "EmploymentStarted", body, None))
        rng = random.Random(f"sim:{self.seed}:payroll:{emp.eid}")
        for y, m, fen in emp.payroll:
            end = _month_end(y, m)
            signed = _office_day(end + rng.randint(1, 5) * DAY, end + DAY, end + 7 * DAY)
            raw.append(
                (
                    signed,
                    P_EMP,
                    emp.employer,
                    "PayrollRecorded",
                    {"employment_id": emp.eid, "month": f"{y:04d}-{m:02d}", "wage_fen": fen},
                    None,
                )
            )
        if emp.proof is not None and emp.proof <= self.cfg.end:
            raw.append(
                (
                    emp.proof,
                    P_PROOF,
                    emp.employer,
                    "EmploymentProofSubmitted",
                    {"employment_id": emp.eid, "months": emp.proof_months},
                    None,
                )
            )
        if emp.ended is not None:
            raw.append(
                (
                    emp.ended,
                    P_PROOF,
                    emp.employer,
                    "EmploymentEnded",
                    {"employment_id": emp.eid, "end_date": emp.ended.isoformat()},
                    None,
                )
            )

    def _ev_recon(self, _: None, raw: list[_Raw]) -> None:
        for day, fin, period, count, total in self.recons:
            digest = hashlib.sha256(f"{fin}|{period}|{count}|{total}".encode()).hexdigest()
            raw.append(
                (
                    day,
                    P_RECON,
                    fin,
                    "ReconciliationRecorded",
                    {
                        "reconciliation_id": f"RECON-{period}-{fin}",
                        "period": period,
                        "statement_sha256": digest,
                        "matched": count,
                        "unmatched_ledger": 0,
                        "unmatched_bank": 0,
                        "mismatched": 0,
                    },
                    None,
                )
            )


# Rules whose hosts are scarce run first within their phase (lower first; default 9).
_SCARCE: dict[str, int] = {
    "CONF-EMPLOYED-BEFORE-TRAINING": 0, "NET-RECYCLED-TRAINEE": 0, "SEQ-PAID-WITHOUT-ATTENDANCE": 1,
    "ELIG-DRIVER-AGE": 1, "DUP-REPEAT-TRAINING": 1, "TIME-CERT-BEFORE-END": 1, "STD-DURATION": 2,
    "STD-DAILY-HOURS": 2, "ELIG-AGE-RANGE": 2, "STD-UNAPPRAISED": 1, "DUP-CERTIFICATE": 2,
    "SEQ-PAID-WITHOUT-CERTIFICATE": 2, "TIME-STALE-CLAIM": 1, "FIN-APPROVED-OVER-CLAIM": 2,
    "NET-SHARED-ACCOUNT": 1,
}  # fmt: skip

# Injector table: rule id -> (phase, function). Phase A runs on rosters before attendance is drawn,
# B on attendance/inspections/certificates, C on claims and payments, D on employment, E on funds,
# F on the key registry.
_INJECTORS: dict[str, tuple[str, Callable[[_Plan], None]]] = {
    "DUP-LABORER": ("A", _Plan._a_dup_laborer),
    "DUP-CLAIM-LINE": ("C", _Plan._c_dup_claim_line),
    "DUP-CERTIFICATE": ("C", _Plan._c_dup_certificate),
    "DUP-PAYMENT": ("C", _Plan._c_dup_payment),
    "DUP-REPEAT-TRAINING": ("A", _Plan._a_repeat),
    "SEQ-PAID-WITHOUT-APPROVAL": ("C", _Plan._c_paid_no_approval),
    "SEQ-PAID-WITHOUT-ATTENDANCE": ("A", _Plan._a_ghost),
    "SEQ-PAID-WITHOUT-CERTIFICATE": ("C", _Plan._c_no_certificate),
    "SEQ-PAID-WITHOUT-REVIEW": ("B", _Plan._b_no_review),
    "SEQ-PAID-WITHOUT-IDENTITY": ("C", _Plan._c_no_identity),
    "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS": ("D", _Plan._d_six_months),
    "SEQ-BEFORE-APPROVAL": ("B", _Plan._b_before_approval),
    "STD-CLASS-SIZE": ("A", _Plan._a_class_size),
    "STD-DURATION": ("A", _Plan._a_duration),
    "STD-DAILY-HOURS": ("A", _Plan._a_daily_hours),
    "STD-PRACTICAL-SHARE": ("A", _Plan._a_practical),
    "STD-OVER-STANDARD": ("C", _Plan._c_over_standard),
    "STD-UNAPPRAISED": ("C", _Plan._c_unappraised),
    "ELIG-DRIVER-AGE": ("A", _Plan._a_driver_age),
    "ELIG-AGE-RANGE": ("A", _Plan._a_age_range),
    "ELIG-NOT-POOR": ("C", _Plan._c_not_poor),
    "CONF-INSPECTION-ABSENT": ("B", _Plan._b_inspection_absent),
    "CONF-HEADCOUNT": ("B", _Plan._b_headcount),
    "CONF-DOUBLE-PRESENCE": ("A", _Plan._a_double),
    "CONF-AFTER-WITHDRAWAL": ("B", _Plan._b_after_withdrawal),
    "CONF-VISIT-DENIAL": ("B", _Plan._b_visit_denial),
    "CONF-EMPLOYED-BEFORE-TRAINING": ("A", _Plan._a_employed_before),
    "NET-SHARED-ACCOUNT": ("C", _Plan._c_shared_account),
    "NET-RECYCLED-TRAINEE": ("A", _Plan._a_recycled),
    "SOD-REVIEWER-ONLY-CHECK": ("B", _Plan._b_sod),
    "TIME-BACKDATED": ("B", _Plan._b_backdated),
    "TIME-CERT-BEFORE-END": ("B", _Plan._b_cert_before_end),
    "TIME-WEEKEND-PAYMENT": ("C", _Plan._c_weekend),
    "TIME-STALE-CLAIM": ("C", _Plan._c_stale),
    "TIME-SIGNED-AFTER-REVOCATION": ("F", _Plan._f_revocation),
    "FIN-OVERPAID": ("C", _Plan._c_overpaid),
    "FIN-APPROVED-OVER-CLAIM": ("C", _Plan._c_approved_over),
    "FIN-FUND-OVERDRAWN": ("E", _Plan._e_overdrawn),
    "FIN-FUND-MISMATCH": ("C", _Plan._c_fund_mismatch),
    "FIN-PAYEE-MISMATCH": ("C", _Plan._c_payee_mismatch),
    "FIN-SPLIT-CLAIM": ("C", _Plan._c_split),
    "INSP-UNINSPECTED": ("B", _Plan._b_uninspected),
    "INSP-FAILED-PAID": ("B", _Plan._b_failed_paid),
}
assert set(_INJECTORS) == set(RULE_IDS)
