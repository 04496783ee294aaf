"""Business-date arithmetic shared by the rules, the simulator and the reports (DESIGN §3)."""

from __future__ import annotations

import datetime as dt


def age_at(birth: dt.date | str, day: dt.date | str) -> int:
    """Completed years on ``day`` (RULES.md's definition of age); ISO text or dates."""
    b = dt.date.fromisoformat(birth) if isinstance(birth, str) else birth
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))
