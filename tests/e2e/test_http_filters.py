"""``balances`` and ``anomalies`` over ``--server`` take the filters the local verbs take (API.md
``GET /v1/balances?…&account=``, ``GET /v1/anomalies?…&as_of=``): a real ``serve`` answers the same
documents as the local verb on the same ledger, for a reader whose scope is the whole ledger; a
claimant asking for another claimant's balances is refused.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import cli, make_ledger, one_line_error
from support.http import assert_problem, serving, sign_in
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

FUND = "F-2019-640422-training"
CLAIM = "C-2019-640422-0001"
# the same claim paid twice (DUP-PAYMENT, RULES.md): a flag that exists from its seq on
DUPLICATE = {"actor": "fin-640422", "type": "PaymentDisbursed", "at": "2019-06-05T11:00:00+08:00",
             "body": {"payment_id": "P-2019-640422-0002", "claim_id": CLAIM, "fund_id": FUND, "amount_fen": 1440000,
                      "payee_account": "", "bank_reference": "XJNSH20190605000188", "value_date": "2019-06-05"},
             "pii": {"bank_account": "1551 0101 0400 0012 345"}}  # fmt: skip


class Served:
    def __init__(self, ledger: Path, url: str, client: httpx.Client, paid_twice: int):
        self.ledger, self.url, self.client, self.paid_twice = ledger, url, client, paid_twice

    def local(self, *args: str) -> object:
        """The local verb, on a copy of the server's ledger taken before it started (no shared writer)."""
        done = cli(self.ledger.parent / "copy", "--lang", "en", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def remote(self, *args: str, actor: str = INSPECTOR[0], status: int = 0) -> str:
        home = self.ledger.parent / f"office-{actor}"
        if not home.exists():  # the reader's own machine: its key only
            (home / "keys" / "actors").mkdir(parents=True)
            shutil.copy(self.ledger / "keys" / "actors" / f"{actor}.pem", home / "keys" / "actors")
        done = cli(home, "--server", self.url, "--keys", "keys", "--lang", "en", "--as", actor, *args)
        assert done.returncode == status, done.stderr
        assert not (home / "ledger.db").exists()
        return done.stdout if status == 0 else one_line_error(done, status)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    (ledger := tmp_path_factory.mktemp("filters") / "ledger").mkdir()
    make_ledger(ledger, [*ACTORS, INSPECTOR], example=EXAMPLE)
    (ledger / "paid-twice.jsonl").write_text(json.dumps(DUPLICATE, ensure_ascii=False) + "\n")
    imported = cli(ledger, "import", "--sign", "--json", "paid-twice.jsonl")
    assert imported.returncode == 0, imported.stderr
    shutil.copytree(ledger, ledger.parent / "copy")
    with serving(ledger) as client:
        yield Served(ledger, str(client.base_url), client, json.loads(imported.stdout)["seq"])


@pytest.mark.parametrize("filters", [
    ("--account", "expense:training"), ("--account", f"fund:{FUND}"), ("--account", "payable"),
    ("--claim", CLAIM), ("--period", "2019-06"), ("--fund", FUND), ("--institution", "inst-640422-zj"),
    ("--laborer", "L-640422-000001"), ("--account", "source", "--as-of", "40"),
])  # fmt: skip
def test_balances_over_the_server_take_the_local_filters(served: Served, filters: tuple[str, ...]) -> None:
    local = served.local("balances", "--json", *filters)
    remote = json.loads(served.remote("balances", "--json", *filters))
    assert remote == local
    assert isinstance(local, dict) and local["filters"] and local["trial_balance"]["total_fen"] == 0


def test_the_account_filter_keeps_one_account_or_a_path_of_them(served: Served) -> None:
    whole = served.local("balances", "--json")
    path = json.loads(served.remote("balances", "--json", "--account", "expense:training"))
    one = json.loads(served.remote("balances", "--json", "--account", f"fund:{FUND}"))
    assert isinstance(whole, dict)
    assert [a["account"] for a in path["accounts"]] == ["expense:training:640422"]
    assert [a["account"] for a in one["accounts"]] == [f"fund:{FUND}"]
    assert one["totals"]["balance_fen"] == one["accounts"][0]["balance_fen"] and one["summary"]["claimed_fen"] is None
    assert path["trial_balance"] == one["trial_balance"] == whole["trial_balance"]  # the whole ledger's, always
    none = json.loads(served.remote("balances", "--json", "--account", "expense:train"))  # no partial names
    assert none["accounts"] == [] and none["totals"]["debit_fen"] == 0


def test_a_claimant_reads_its_own_balances_only(served: Served) -> None:
    school = sign_in(served.client, served.ledger / "keys", "inst-640422-zj")
    own = served.client.get("/v1/balances", params={"institution": "inst-640422-zj", "claim": CLAIM}, headers=school)
    assert own.status_code == 200 and own.json()["accounts"], own.text
    assert_problem(served.client.get("/v1/balances", params={"institution": "inst-640402-yz"}, headers=school),
                   403, "forbidden")  # fmt: skip
    assert_problem(served.client.get("/v1/balances", params={"period": "2019-13"}, headers=school), 422, "invalid_request")
    assert "server 403" in served.remote("balances", "--institution", "inst-640402-yz", actor="inst-640422-zj", status=1)


def test_anomalies_as_of_over_the_server(served: Served) -> None:
    before, after = served.paid_twice - 1, served.paid_twice
    for as_of in (before, after):
        local = served.local("anomalies", "--json", "--as-of", str(as_of))
        assert json.loads(served.remote("anomalies", "--json", "--as-of", str(as_of))) == local
    flags = json.loads(served.remote("anomalies", "--json", "--rule", "DUP-PAYMENT", "--as-of", str(after)))
    assert [f["subject"]["id"] for f in flags] == [CLAIM] and after in flags[0]["evidence"]
    assert json.loads(served.remote("anomalies", "--json", "--rule", "DUP-PAYMENT", "--as-of", str(before))) == []
    shown = served.remote("anomalies", "show", flags[0]["id"], "--json", "--as-of", str(after))
    assert json.loads(shown) == served.local("anomalies", "show", flags[0]["id"], "--json", "--as-of", str(after))
    text = served.remote("anomalies", "--as-of", str(after))
    assert "DUP-PAYMENT" in text and str(after) in text
