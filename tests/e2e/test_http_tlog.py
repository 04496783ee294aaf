"""``/tlog/``: the log as C2SP tlog-tiles (API.md "The log's static read path"), from a real ``serve``.

The tiles are read back with an independent client written from the specs alone
(:mod:`support.tlog_tiles`): it recomputes the operator-signed root from the tiles, and again from
the entry bundles' leaves, and checks inclusion proofs built from the tiles alone.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import httpx

from support.cli import cli, make_ledger
from support.http import assert_problem, envelope, serving, sign_in
from support.tlog_tiles import TiledLog, parse_checkpoint, root_of_leaves, tiles_for, verify_inclusion

FUNDS = 600  # with the registry leaves: two full tiles, a partial one, and a level-1 tile of width 2
ACTORS = [("fin-640422", "finance_bureau", "640422", "西吉县财政局"),
          ("inst-640422-zj", "institution", "640422", "西吉县职业技术学校")]  # fmt: skip


def make_log(cwd: Path, *db: str) -> None:
    """The registry (a copy of the run's once-built ledger: init and the actors), then the funds imported."""
    make_ledger(cwd, ACTORS, env={"LEDGER_DB": db[1]} if db else None)
    lines = [json.dumps(envelope(cwd / "keys", "fin-640422", "FundAllocated",
                                 {"fund_id": f"F-TLOG-{n:04d}", "jurisdiction": "640422", "source": "central",
                                  "purpose": "training", "year": 2019, "amount_fen": 100 + n}, nonce=f"tlog-fund-{n:05d}"))
             for n in range(FUNDS)]  # fmt: skip
    (cwd / "funds.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli(cwd, *db, "import", "funds.jsonl")
    assert done.returncode == 0, done.stderr


def follow(client: httpx.Client, keys: Path, headers: dict[str, str]) -> TiledLog:
    """What a C2SP monitor does: the checkpoint, its signature, the root from the tiles, the leaves."""

    def fetch(path: str) -> bytes:
        got = client.get(f"/tlog/{path}", headers={**headers, "Accept-Encoding": "identity"})
        assert got.status_code == 200, (path, got.text)
        assert got.headers["content-type"] == ("text/plain; charset=utf-8" if path == "checkpoint" else "application/octet-stream")
        return got.content

    operator = (keys / "operator.pub").read_text(encoding="utf-8").strip()
    checkpoint = parse_checkpoint(fetch("checkpoint"), operator)
    assert checkpoint.origin == (keys / "origin").read_text(encoding="utf-8").strip()
    assert checkpoint.size == FUNDS + 1 + len(ACTORS)
    log = TiledLog(fetch, checkpoint.size)
    assert log.root() == checkpoint.root  # from the highest tiles
    leaves = [leaf for n in range((checkpoint.size + 255) // 256) for leaf in log.entries(n)]
    assert root_of_leaves(leaves) == checkpoint.root  # from the entry bundles alone
    for seq in (0, 1, 255, 256, 300, 511, 512, checkpoint.size - 1):
        verify_inclusion(leaves[seq], seq, checkpoint.size, log.inclusion_path(seq), checkpoint.root)
        assert json.loads(leaves[seq])["seq"] == seq
    assert sorted(log.fetched) == sorted(p for p in tiles_for(checkpoint.size) if "entries" not in p)
    return log


def test_tiles_follow_the_signed_log_for_the_log_readers_only(db_url: str, tmp_path: Path) -> None:
    db = ("--db", db_url)
    make_log(tmp_path, *db)
    keys = tmp_path / "keys"
    with serving(tmp_path, *db) as client:
        assert_problem(client.get("/tlog/checkpoint"), 401, "unauthorized")
        assert_problem(client.get("/tlog/tile/0/000"), 401, "unauthorized")
        institution = sign_in(client, keys, "inst-640422-zj")
        assert_problem(client.get("/tlog/tile/0/000", headers=institution), 403, "forbidden")
        finance = sign_in(client, keys, "fin-640422")
        log = follow(client, keys, finance)
        full = client.get("/tlog/tile/0/000", headers=finance)
        assert full.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert full.headers["vary"] == "Authorization"
        assert client.get("/tlog/checkpoint", headers=finance).headers["cache-control"] == "private, no-cache"
        # the proof the API hands out is the one the tiles give
        api = client.get("/v1/proofs/inclusion", params={"seq": 300}, headers=finance).json()
        assert [base64.b64decode(h) for h in api["inclusion_path"]] == log.inclusion_path(300)
        # nothing beyond the signed checkpoint, and no second spelling of a path
        size = log.size
        for path in (f"tile/0/002.p/{size - 512 + 1}", "tile/0/003", "tile/1/000", "tile/2/000.p/1",
                     f"tile/entries/002.p/{size - 512 + 1}", "tile/0/0", "tile/0/x000/000", "tile/0/000.p/256",
                     "tile/0/000.p/0", "tile/64/000", "tile/entries/001.p/07", "tile/00/000", "tiles/0/000"):  # fmt: skip
            assert_problem(client.get(f"/tlog/{path}", headers=finance), 404, "not_found")
        # a narrower partial tile of a signed size is a prefix of the wider one
        narrow = client.get("/tlog/tile/0/001.p/10", headers=finance)
        assert narrow.status_code == 200 and narrow.content == log.fetched["tile/0/001"][: 32 * 10]


def test_public_log_is_readable_by_anyone_and_cacheable(tmp_path: Path) -> None:
    make_log(tmp_path)
    keys = tmp_path / "keys"
    with serving(tmp_path, options=("--public-log",)) as client:
        log = follow(client, keys, {})
        full = client.get("/tlog/tile/0/001")
        assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "vary" not in full.headers
        partial = client.get(f"/tlog/tile/0/002.p/{log.size - 512}")
        assert partial.status_code == 200 and partial.headers["cache-control"] == "public, max-age=60"
        assert client.get("/tlog/checkpoint").headers["cache-control"] == "public, no-cache"
        zipped = client.get("/tlog/tile/entries/000", headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["vary"]
        plain = client.get("/tlog/tile/entries/000", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert zipped.content == plain.content  # httpx decodes; the bytes on the wire were gzip
        assert len(gzip.compress(plain.content)) < len(plain.content)
