"""The example 西吉县 class and the actors its intents need (shared by the CLI end-to-end tests)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "xiji-class.jsonl"
ACTORS = [
    ("tw-640422-jq", "township", "640422", "西吉县吉强镇人民政府"),
    ("pov-640422", "poverty_office", "640422", "西吉县扶贫开发办公室"),
    ("inst-640422-zj", "institution", "640422", "西吉县职业技术学校"),
    ("hr-640422", "hr_bureau", "640422", "西吉县人力资源和社会保障局"),
    ("apc-640400", "appraisal_center", "640400", "固原市职业技能鉴定中心"),
    ("fin-640422", "finance_bureau", "640422", "西吉县财政局"),
]
INSPECTOR = ("insp-640400", "inspector", "640400", "固原市纪委监委")  # for the tests that inspect
