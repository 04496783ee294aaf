"""A batch that stops part-way over HTTP (API.md: "accepted lines stay accepted"): a real ``serve``
whose database fails on one line of a batch's second chunk answers the problem (503, the ``line`` it
stopped at) with the results of every line recorded before it, and ``import --server`` reports them
before its one-line error. The failure is the database's own: a trigger raising on that line's insert.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ledger.encoding.canonical import JSONObject
from support.cli import cli
from support.http import PROBLEM, envelope, serving

AT = "2019-06-10T10:00:00+08:00"
LINES = 1000  # a full batch: the service appends it in chunks of 500, so line 700 fails the second
POISON = 700

_SQLITE = """CREATE TRIGGER poison BEFORE INSERT ON ledger_leaves WHEN NEW.nonce LIKE 'poison%'
BEGIN SELECT json('injected disk failure'); END"""  # an error that is no constraint's
_PG = [
    """CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       IF NEW.nonce LIKE 'poison%' THEN RAISE EXCEPTION 'injected disk failure' USING ERRCODE = '58030'; END IF;
       RETURN NEW; END $$""",
    "CREATE TRIGGER poison BEFORE INSERT ON ledger_leaves FOR EACH ROW EXECUTE FUNCTION poison()",
]


def _sql(db_url: str, statements: list[str]) -> None:
    if db_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _poison(db_url: str) -> None:
    _sql(db_url, [_SQLITE] if db_url.startswith("sqlite") else _PG)


def _cure(db_url: str) -> None:
    _sql(db_url, ["DROP TRIGGER poison"] if db_url.startswith("sqlite") else ["DROP TRIGGER poison ON ledger_leaves"])


def _fund(keys: Path, n: int, prefix: str) -> JSONObject:
    body: JSONObject = {"fund_id": f"F-STOP-{prefix}-{n}", "jurisdiction": "640422", "source": "central",
                        "purpose": "training", "year": 2019, "amount_fen": 1000 + n}  # fmt: skip
    nonce = f"poison-{prefix}-{n:05d}" if n == POISON else f"stop-{prefix}-{n:05d}"
    return envelope(keys, "fin-640422", "FundAllocated", body, nonce=nonce, at=AT)


def _size(cwd: Path, *db: str) -> int:
    log = cli(cwd, *db, "log", "--json")
    assert log.returncode == 0, log.stderr
    return sum(1 for line in log.stdout.splitlines() if line.strip())


def test_a_batch_stopped_by_the_database_still_reports_the_lines_it_recorded(db_url: str, tmp_path: Path) -> None:
    db = ("--db", db_url)
    assert cli(tmp_path, *db, "init").returncode == 0
    added = cli(tmp_path, *db, "actor", "add", "--id", "fin-640422", "--role", "finance_bureau",
                "--jurisdiction", "640422", "--name", "西吉县财政局")  # fmt: skip
    assert added.returncode == 0, added.stderr
    keys = tmp_path / "keys"
    before = _size(tmp_path, *db)
    batch = [_fund(keys, n, "http") for n in range(1, LINES + 1)]
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in batch)
    _poison(db_url)
    with serving(tmp_path, *db) as client:
        stopped = client.post("/v1/events", content=text.encode(), headers={"Content-Type": "application/x-ndjson"})
        assert stopped.status_code == 503 and stopped.headers["content-type"] == PROBLEM, stopped.text
        doc = stopped.json()
        assert doc["line"] == 501 and "Traceback" not in stopped.text and str(tmp_path) not in stopped.text
        results = doc["results"]
        assert [r["line"] for r in results] == list(range(1, 501))
        assert {r["status"] for r in results} == {"accepted"}
        assert [r["seq"] for r in results] == list(range(before, before + 500))

        # the CLI's import over --server: what was recorded is reported line by line, then the error
        office = tmp_path / "office"
        (office / "keys" / "actors").mkdir(parents=True)
        shutil.copy(keys / "actors" / "fin-640422.pem", office / "keys" / "actors")
        again = [_fund(keys, n, "cli") for n in range(1, LINES + 1)]
        (office / "batch.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in again))
        url = str(client.base_url)
        done = cli(office, "--server", url, "--keys", "keys", "--lang", "en", "import", "--json", "batch.jsonl")
        assert done.returncode == 2, done.stderr
        summary, error = done.stderr.splitlines()  # as the local import: its summary, then one line of error
        assert summary.startswith("import done: 500 lines, 500 accepted, 0 duplicates, 0 refused"), summary
        assert error.startswith("error: server 503 ") and "line 501" in error, error
        rows = [json.loads(x) for x in done.stdout.splitlines()]
        assert [(r["line"], r["status"]) for r in rows] == [(n, "accepted") for n in range(1, 501)]
        assert not (office / "ledger.db").exists()

        _cure(db_url)  # the database recovers: the same batch again, the recorded half comes back duplicate
        retried = client.post("/v1/events", content=text.encode(), headers={"Content-Type": "application/x-ndjson"})
        assert retried.status_code == 200, retried.text
        outcomes = [json.loads(x) for x in retried.text.splitlines()]
        assert [o["status"] for o in outcomes] == ["duplicate"] * 500 + ["accepted"] * 500
        assert [o["seq"] for o in outcomes[:500]] == [r["seq"] for r in results]
    assert _size(tmp_path, *db) == before + 1500  # each recorded once, seq gapless (verify checks the log)
    verified = cli(tmp_path, *db, "verify")
    assert verified.returncode == 0, verified.stderr

