"""A seeded, reproducible simulator of Guyuan's 2018–2020 poverty-alleviation training programme.

It produces **unsigned intents** in import order; the lead's signing step signs them (DESIGN §9
``import --sign``), fills the personal-data placeholders from ``pii`` (DESIGN §7) and appends
them. Nothing here touches keys, the pepper or the database: it reads only the holiday table and
the date and money helpers of ``ledger.domain``, and the rule registry of ``projections``.

    from simulator import simulate

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
          280,000 intents: ~5 s of planning (and ~3 s writing ~115 bank statements), ~10 s of
          streaming, flat memory while streaming.

Where the numbers come from
---------------------------
The reference data — places, names, occupations, standards, organisations, wages, scales and
the calendar of class starts — lives in ``data/*.toml`` (:mod:`simulator.world`).

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
  unifications"): ``data/standards.toml``. Occupation-specific standards are *more specific*
  than the programme-wide ones: a rule picks the most specific match (occupation, then
  certificate type, then programme).
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

``simulate(..., order="shuffled", order_seed=N)`` streams the same intents — the same nonces and
``at`` — in a seeded random order the ledger still accepts, as a migration of 2018–2020 files
would load them (:mod:`.order`: references after their creators, a key's signatures before its
revocation; standards and corrections free to come late). The truth is the same for every order.

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

Bank statements
---------------
For each finance bureau and month it paid in, :mod:`.statements` writes the statement of its
special-fund account that the payments imply (DESIGN §10): GBK CSV (bank preamble, Chinese
headers, ``,`` thousands, a 合计 row) alternating with XLSX, the same bytes for a seed
(``Simulation.statements()``). Its returns, allocations and interest are credits. The injectors of
``FIN-RECON-EXCEPTION`` and ``FIN-BANK-UNMATCHED`` put into them an amount off by 0.01 yuan,
another payee, a value date beyond the window, a payment the bank never made, a return the ledger
never recorded, ambiguous twins, a debit with no payment and a duplicated line.
``Simulation.statement_truth()`` lists per statement what reconciling it must find, and each
bureau's ``ReconciliationRecorded`` is the one ``reconcile --record`` signs for that statement.

The package, step by step: :mod:`.world` (reference data), :mod:`.people` (names, IDs, cards),
:mod:`.calendar` (business days), :mod:`.records` and :mod:`.plan` (what is planned),
:mod:`.actors`, :mod:`.schedule`, :mod:`.roster`, :mod:`.programme`, :mod:`.employment`,
:mod:`.finalize` (the planning steps), :mod:`.statements` (bank statements), :mod:`.injectors`
(misuse, one module per rule family), :mod:`.emit` (the plan as intents), :mod:`.order` (a migration
order of them) and :mod:`.simulation` (the order of it all).
"""

from __future__ import annotations

from projections.anomalies.engine import anomaly_id
from simulator.emit import Intent
from simulator.injectors import RULE_IDS
from simulator.records import ActorSpec, InjectedCase
from simulator.simulation import Simulation, simulate

__all__ = ["RULE_IDS", "ActorSpec", "InjectedCase", "Intent", "Simulation", "anomaly_id", "simulate"]
