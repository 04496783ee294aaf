"""A small scenario builder: a real ledger, real keys, real signatures, one call per action.

    sc = Scenario.create(db_url, tmp_path)
    sc.do("pov-xj", "LaborerRegistered", {...}, pii=...)

Each ``do`` signs an intent with the actor's key from the scenario's keystore and appends it,
returning the outcome. ``Scenario.in_memory(tmp_path)`` appends to a :class:`support.memory_log.MemoryLog`
instead of a database (the same decisions and leaves, no Merkle tree or checkpoints).
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from ledger.application import Item, Outcome
from ledger.domain.envelope import Envelope, sign_envelope
from ledger.keys.keystore import Keystore
from ledger.service import Session
from support.memory_log import MemoryLog

XIJI = "640422"
LONGDE = "640423"
CITY = "640400"

ACTORS = [
    ("hr-xj", "hr_bureau", XIJI, "西吉县人力资源和社会保障局"),
    ("pov-xj", "poverty_office", XIJI, "西吉县扶贫开发办公室"),
    ("fin-xj", "finance_bureau", XIJI, "西吉县财政局"),
    ("tw-jq", "township", XIJI, "西吉县吉强镇人民政府"),
    ("inst-xj", "institution", XIJI, "西吉县职业技术学校"),
    ("apc", "appraisal_center", CITY, "固原市职业技能鉴定中心"),
    ("traffic", "traffic_authority", CITY, "固原市公安局交通警察支队车辆管理所"),
    ("emp-xj", "employer", XIJI, "西吉县兴隆镇扶贫车间"),
    ("insp", "inspector", CITY, "固原市纪委监委"),
    ("hr-ld", "hr_bureau", LONGDE, "隆德县人力资源和社会保障局"),
    ("inst-ld", "institution", LONGDE, "隆德县职业技术学校"),
]


class Scenario:
    def __init__(self, session: Session):
        self.session = session
        self.ledger = session.ledger
        self._n = itertools.count(1)

    @property
    def in_memory_log(self) -> bool:
        return isinstance(self.ledger, MemoryLog)

    @classmethod
    def create(cls, db_url: str, tmp_path: Path, *, actors: bool = True) -> Scenario:
        return cls.started(Session.open(db_url, tmp_path / "keys"), actors=actors)

    @classmethod
    def in_memory(cls, tmp_path: Path, *, actors: bool = True) -> Scenario:
        """The same scenario on a log held in memory: no database at all."""
        return cls.started(Session(MemoryLog(), Keystore(tmp_path / "keys")), actors=actors)  # type: ignore[arg-type]

    @classmethod
    def started(cls, session: Session, *, actors: bool = True) -> Scenario:
        session.checkpoint_interval = 0
        session.init()
        sc = cls(session)
        if actors:
            for actor_id, role, code, name in ACTORS:
                session.add_actor(actor_id, role, code, name)
        return sc

    def close(self) -> None:
        self.session.close()

    def envelope(self, actor: str, event_type: str, body: dict[str, Any], *,
                 at: str = "2019-04-01T09:00:00+08:00", nonce: str | None = None,
                 key_actor: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
        unsigned = {"type": event_type, "actor": actor, "at": at,
                    "nonce": nonce or f"test-{next(self._n):06d}", "body": body, **extra}  # fmt: skip
        return sign_envelope(unsigned, self.session.keys.actor_key(key_actor or actor))

    def submit(self, envelope: dict[str, Any]) -> Outcome:
        from ledger.errors import Refused

        try:
            item = Item(Envelope.from_dict(envelope))
        except Refused as exc:
            item = Item(error=exc)
        return self.ledger.append([item])[0]

    def do(self, actor: str, event_type: str, body: dict[str, Any], **kw: Any) -> Outcome:
        pii = kw.pop("pii", None)
        if pii is not None:
            intent = {"actor": actor, "type": event_type, "body": body,
                      "at": kw.pop("at", "2019-04-01T09:00:00+08:00"), "pii": pii}  # fmt: skip
            if "nonce" in kw:
                intent["nonce"] = kw.pop("nonce")
            return self.ledger.append([self.session.signer().sign(intent)])[0]
        return self.submit(self.envelope(actor, event_type, body, **kw))

    def ok(self, actor: str, event_type: str, body: dict[str, Any], **kw: Any) -> int:
        out = self.do(actor, event_type, body, **kw)
        assert out.status == "accepted", out
        assert out.seq is not None
        return out.seq

    # --- common subjects ---------------------------------------------------------------------------
    def laborer(self, laborer_id: str, *, code: str = XIJI, birth: str = "1985-06-01",
                category: str = "poor", by: str = "pov-xj", fp: str | None = None) -> int:  # fmt: skip
        n = int("".join(ch for ch in laborer_id if ch.isdigit()) or "0")
        return self.ok(by, "LaborerRegistered", {
            "laborer_id": laborer_id, "household_id": f"H-{n:05d}", "jurisdiction": code,
            "township": "吉强镇", "village": "龙王坝村", "birth_date": birth, "gender": "female",
            "category": category, "id_fingerprint": fp or f"{n:064x}",
            "pii_commitment": f"{n + 7:064x}",
        })  # fmt: skip

    def klass(self, class_id: str, *, code: str = XIJI, by: str = "inst-xj",
              programme: str = "employment_skill", occupation: str = "中式烹调") -> int:  # fmt: skip
        return self.ok(by, "ClassOpeningRequested", {
            "class_id": class_id, "programme": programme, "occupation": occupation,
            "in_catalog": True, "jurisdiction": code, "site": "西吉县职业技术学校实训楼",
            "planned_start": "2019-04-08", "planned_end": "2019-05-03", "capacity": 40,
            "hours_per_day": 8, "practical_percent": 70, "subsidy_per_trainee_fen": 150000,
        })  # fmt: skip

    def fund(self, fund_id: str = "F-2019-640422-training", code: str = XIJI) -> int:
        return self.ok("fin-xj", "FundAllocated", {
            "fund_id": fund_id, "jurisdiction": code, "source": "central",
            "purpose": "training", "year": 2019, "amount_fen": 50_000_000,
        })  # fmt: skip

    def claim(self, claim_id: str, class_id: str, laborers: list[str], amount: int = 150000) -> int:
        return self.ok("inst-xj", "SubsidyClaimed", {
            "claim_id": claim_id, "kind": "training", "class_id": class_id,
            "lines": [{"laborer_id": lid, "amount_fen": amount} for lid in laborers],
            "payee_account": "ab" * 32, "total_fen": amount * len(laborers),
        })  # fmt: skip


def at_days(date: str, days: int) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=days)).isoformat() + "T10:00:00+08:00"
