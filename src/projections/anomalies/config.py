"""The anomaly rules' thresholds (RULES.md): one frozen object, RULES.md's defaults.

A projection must be reproducible, so the thresholds are part of the rules' logic version: the
fingerprint of :data:`CONFIG` is registered with the projections, and a changed threshold makes
the next catch-up rebuild every flag from seq 0 rather than mix flags judged by two settings (the
anomaly tables alone, by an in-memory replay: ``runner.rebuild_only``; the other read models stay).

To run with other thresholds, replace the object before the projections load, e.g. in a
deployment's start-up code::

    import projections.anomalies.config as rc
    rc.CONFIG = rc.RulesConfig(class_size_max=45)
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

from ledger.domain.policy import GUYUAN, Jurisdictions
from ledger.encoding.canonical import canonical

# Programmes whose class standards are 20–30 days of at least 6 class-hours (policy §4(3));
# driver training and two-after students (两后生) keep their own schedules.
STANDARD_PROGRAMMES = frozenset({"employment_skill", "special_ability"})


@dataclass(frozen=True)
class RulesConfig:
    class_size_max: int = 50  # STD-CLASS-SIZE: more than this many enrolled
    duration_min_days: int = 20  # STD-DURATION: class span under this …
    duration_max_days: int = 30  # … or over this many calendar days
    duration_programmes: frozenset[str] = STANDARD_PROGRAMMES
    daily_hours_min: int = 6  # STD-DAILY-HOURS: a class-day under this many class-hours
    daily_hours_programmes: frozenset[str] = STANDARD_PROGRAMMES
    practical_share: tuple[int, int] = (2, 3)  # STD-PRACTICAL-SHARE: practical ≥ 2/3 of all hours
    age_min: int = 16  # ELIG-AGE-RANGE (NX): enrolees aged 16 …
    age_max: int = 60  # … to 60
    driver_age_limit: int = 50  # ELIG-DRIVER-AGE: driver trainees must be under 50 (§3(3))
    trainings_per_year_max: int = 3  # DUP-REPEAT-TRAINING: at most 3 subsidised trainings a year
    stale_claim_days: int = 90  # TIME-STALE-CLAIM: approved, unpaid more than 90 days
    backdated_days: int = 7  # TIME-BACKDATED: signed more than 7 days after the business date
    shared_account_laborers: int = 3  # NET-SHARED-ACCOUNT: 3 or more labourers …
    shared_account_households: int = 3  # … of 3 or more households on one account
    recycled_classes_per_year: int = 3  # NET-RECYCLED-TRAINEE: 3 or more classes a year
    employer_months: int = 6  # SEQ-EMPLOYER-WITHOUT-SIX-MONTHS: consecutive payroll months
    jurisdictions: Jurisdictions = field(default=GUYUAN)  # FIN-FUND-MISMATCH: "one above it"

    def fingerprint(self) -> str:
        """A short hash of every setting: part of the rules' logic version."""
        data = asdict(self)
        data = {k: sorted(v) if isinstance(v, (frozenset, set)) else v for k, v in data.items()}
        data["practical_share"] = list(self.practical_share)
        data["jurisdictions"] = {"names": self.jurisdictions.names, "parents": self.jurisdictions.parents}
        return hashlib.sha256(canonical(data)).hexdigest()[:16]


CONFIG = RulesConfig()
