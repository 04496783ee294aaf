"""Who may sign what, and where (DESIGN §2, EVENTS.md "signed by").

The role × type matrix is data: adding an event type is one line. Rules that depend on the
subject (the claimant withdraws, the issuer revokes, a township reads only its own
registrations) are checked in :mod:`ledger.domain.aggregates`, where the subject is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias, cast, get_args

Role: TypeAlias = Literal[
    "admin",
    "poverty_office",
    "township",
    "hr_bureau",
    "institution",
    "appraisal_center",
    "traffic_authority",
    "employer",
    "finance_bureau",
    "inspector",
]
Signer: TypeAlias = Role | Literal["*self*"]  # *self*: the actor the body names (its own key rotation)
Kind: TypeAlias = Literal["training", "appraisal", "employer", "living_allowance"]
CertificateType: TypeAlias = Literal[
    "vocational_qualification", "special_ability", "training_completion", "driving_licence"
]


def _signers(names: str) -> frozenset[Signer]:
    allowed = (*get_args(Role), "*self*")
    assert all(n in allowed for n in names.split()), names
    return frozenset(cast("list[Signer]", names.split()))


SIGNERS: dict[str, frozenset[Signer]] = {
    t: _signers(r)
    for t, r in {
        "ActorRegistered": "admin",
        "KeyRotated": "admin *self*",
        "KeyRevoked": "admin",
        "SubsidyStandardSet": "admin",
        "FundAllocated": "finance_bureau",
        "FundAdjusted": "finance_bureau",
        "LaborerRegistered": "poverty_office township",
        "LaborerCorrected": "poverty_office",
        "IdentityConfirmed": "poverty_office",
        "IdentityRejected": "poverty_office",
        "ClassOpeningRequested": "institution",
        "ClassOpeningApproved": "hr_bureau",
        "ClassOpeningRejected": "hr_bureau",
        "ClassCancelled": "institution hr_bureau",
        "TraineeEnrolled": "institution",
        "TraineeWithdrawn": "institution",
        "AttendanceRecorded": "institution",
        "ClassCompleted": "institution",
        "CompletionReviewed": "hr_bureau",
        "InspectionRecorded": "hr_bureau poverty_office finance_bureau inspector",
        "CertificateIssued": "appraisal_center institution traffic_authority",
        "CertificateRevoked": "appraisal_center institution traffic_authority",
        "AppraisalFailed": "appraisal_center traffic_authority",
        "EmploymentStarted": "employer",
        "PayrollRecorded": "employer",
        "EmploymentProofSubmitted": "employer",
        "EmploymentEnded": "employer",
        "SubsidyClaimed": "institution appraisal_center employer",
        "ClaimWithdrawn": "institution appraisal_center employer",
        "ClaimIdentityVerified": "poverty_office",
        "ClaimApproved": "hr_bureau",
        "ClaimRejected": "hr_bureau",
        "PaymentDisbursed": "finance_bureau",
        "PaymentReturned": "finance_bureau",
        "FundsRecovered": "finance_bureau",
        "ReconciliationRecorded": "finance_bureau",
        "AnomalyDisposed": "inspector",
        "PersonalDataAccessed": "poverty_office township inspector",
        "PersonalDataErased": "poverty_office",
    }.items()
}

# CertificateIssued: which role issues which certificate type (EVENTS.md).
CERTIFICATE_ISSUER: dict[CertificateType, Role] = {
    "vocational_qualification": "appraisal_center",
    "special_ability": "appraisal_center",
    "training_completion": "institution",
    "driving_licence": "traffic_authority",
}

# SubsidyClaimed: which role claims which kind (EVENTS.md).
CLAIMANT: dict[Kind, Role] = {
    "training": "institution",
    "living_allowance": "institution",
    "appraisal": "appraisal_center",
    "employer": "employer",
}

# Roles whose actors may read personal data (DESIGN §7); township only its own registrations.
PII_READERS: frozenset[Role] = frozenset({"poverty_office", "township", "inspector"})

# Roles whose actors may cosign checkpoints (DESIGN §6).
COSIGNERS: frozenset[Role] = frozenset({"finance_bureau", "inspector"})


@dataclass(frozen=True)
class Jurisdictions:
    """The configured hierarchy (DESIGN §2): code → (name, parent code)."""

    names: dict[str, str]
    parents: dict[str, str | None] = field(default_factory=dict)

    def __contains__(self, code: object) -> bool:
        return code in self.names

    def covers(self, actor_code: str, event_code: str) -> bool:
        """An actor of a county acts only within it; a city-level actor anywhere below."""
        code: str | None = event_code
        while code is not None:
            if code == actor_code:
                return True
            code = self.parents.get(code)
        return False

    def covered(self, code: str) -> list[str]:
        """The code and every configured code below it: what a filter ``--jurisdiction CODE`` means."""
        return [code, *(c for c in self.names if c != code and self.covers(code, c))]

    def counties(self) -> list[str]:
        return [c for c, p in self.parents.items() if p is not None]


GUYUAN = Jurisdictions(
    names={
        "640400": "固原市",
        "640402": "原州区",
        "640422": "西吉县",
        "640423": "隆德县",
        "640424": "泾源县",
        "640425": "彭阳县",
    },
    parents={
        "640400": None,
        "640402": "640400",
        "640422": "640400",
        "640423": "640400",
        "640424": "640400",
        "640425": "640400",
    },
)
