"""``simulate --order shuffled``: the misuse simulation loaded as a migration would load it (issue 16).

The ledger refuses nothing the business order does not refuse (the simulator injects no refusal),
holds the very same envelopes (actor + nonce) in another order, and the truth file is the business
order's: the same injected cases and knock-ons, the same bank statements' truth.
"""

from __future__ import annotations

import json
from pathlib import Path

from ledger.keys.vault import payee_account
from ledger.service import Session
from simulator import InjectedCase, simulate
from support.cli import cli, one_line_error


def test_a_shuffled_simulation_imports_every_envelope_and_keeps_the_truth(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    made = cli(tmp_path, "--lang", "en", "simulate", "--scale", "small", "--order", "shuffled",
               "--order-seed", "5", "--truth", "truth.json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert ", 0 refused;" in made.stdout

    business = simulate("small", seed=2019)
    intents = list(business.intents())
    session = Session.open(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "keys")
    try:
        loaded = [json.loads(leaf)["envelope"] for _, _, leaf in session.ledger.leaves()]
        pepper = session.keys.pepper
    finally:
        session.close()
    migrated = [(e["actor"], e["nonce"]) for e in loaded if e["nonce"].startswith("sim-2019-")]
    expected = [(i["actor"], i["nonce"]) for i in intents]
    assert sorted(migrated) == sorted(expected) and migrated != expected

    def case(c: InjectedCase) -> dict[str, object]:
        subject = c.subject_id
        if subject.startswith("raw:"):
            subject = payee_account(pepper, subject.removeprefix("raw:"))
        return {"rule": c.rule, "subject": {"kind": c.subject_kind, "id": subject}, "laborer_id": c.laborer_id,
                "note": c.note}  # fmt: skip

    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["truth"] == [case(c) for c in business.truth]
    assert truth["expected_knock_on"] == [case(c) for c in business.expected_knock_on]
    assert truth["statements"] == json.loads(json.dumps(business.statement_truth(), ensure_ascii=False))


def test_an_unknown_order_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    size = cli(tmp_path, "log", "--json")
    refused = cli(tmp_path, "--lang", "en", "simulate", "--scale", "tiny", "--order", "alphabetical")
    assert "--order must be chronological or shuffled" in one_line_error(refused, 2)
    assert cli(tmp_path, "log", "--json").stdout == size.stdout
