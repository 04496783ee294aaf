"""``GET /v1/trace``, ``GET /v1/reports/monthly`` and ``POST /v1/reconciliations`` from a real ``serve``,
on SQLite and PostgreSQL: the CLI's documents byte for byte at the same checkpoint, in scope only,
every error a problem; and the CLI's ``trace``, ``report monthly`` and ``reconcile`` with ``--server``.

The ledger is the example 西吉县 class (its payment P-2019-640422-0001 of 西吉县财政局) with a
finance bureau and an inspector of another county; the statements are the hand-made June 2019
files of tests/fixtures/statements.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.http import models as m
from api.http.reconciliations import MAX_STATEMENT
from support.cli import cli, make_ledger, one_line_error
from support.http import assert_problem, serving, sign_in
from support.pg import pg_database
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

STATEMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "statements"
FORMATS = ["reconcile-2019-06-gbk.csv", "reconcile-2019-06-utf8-bom.csv", "reconcile-2019-06.xlsx"]
CLAIM, PAYMENT, FUND, CLASS = "C-2019-640422-0001", "P-2019-640422-0001", "F-2019-640422-training", "CLS-2019-640422-0001"
BUREAU = "fin-640422"
OTHER_BUREAU = ("fin-640402", "finance_bureau", "640402", "原州区财政局")
OTHER_INSPECTOR = ("insp-640402", "inspector", "640402", "原州区纪委监委")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Served:
    cwd: Path
    db: tuple[str, str]
    client: httpx.Client

    def local(self, *args: str) -> bytes:
        """A verb on the operator's machine (the same database), its stdout's bytes."""
        done = cli(self.cwd, *self.db, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout.encode("utf-8")

    def remote(self, actor: str, *args: str) -> tuple[int, str, str]:
        """A verb with ``--server``, signed in as ``actor`` with its key from the keystore."""
        done = cli(self.cwd, "--server", str(self.client.base_url), "--as", actor, *args)
        return done.returncode, done.stdout, done.stderr

    def token(self, actor: str) -> dict[str, str]:
        return sign_in(self.client, self.cwd / "keys", actor)

    def size(self) -> int:
        return int(self.client.get("/healthz").json()["size"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cwd = tmp_path_factory.mktemp(f"http-capabilities-{request.param}")

    def run(url: str) -> Iterator[Served]:
        make_ledger(cwd, [*ACTORS, INSPECTOR, OTHER_BUREAU, OTHER_INSPECTOR], example=EXAMPLE, env={"LEDGER_DB": url})
        db = ("--db", url)
        with serving(cwd, *db) as client:
            yield Served(cwd, db, client)

    if request.param == "sqlite":
        yield from run(f"sqlite:///{cwd / 'ledger.db'}")
        return
    with pg_database() as url:
        yield from run(url)


# --- trace --------------------------------------------------------------------------------------------------
def test_trace_is_the_cli_document_byte_for_byte(served: Served) -> None:
    inspector = served.token(INSPECTOR[0])
    got = served.client.get(f"/v1/trace/claim/{CLAIM}", headers=inspector)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    doc = got.json()
    assert (doc["kind"], doc["id"]) == ("claim", CLAIM) and len(doc["events"]) > 20
    assert all(e["signature_ok"] and e["included"] for e in doc["events"])
    assert m.Trace.model_validate(doc).model_dump(exclude_unset=True) == doc  # what /openapi.json says it is
    size = doc["checkpoint"]["size"]
    assert got.content == served.local("trace", "claim", CLAIM, "--json", "--checkpoint", str(size))
    again = served.client.get(f"/v1/trace/claim/{CLAIM}", params={"checkpoint": size}, headers=inspector)
    assert again.content == got.content
    code, out, err = served.remote(INSPECTOR[0], "trace", "claim", CLAIM, "--json", "--checkpoint", str(size))
    assert code == 0, err
    assert out.encode("utf-8") == got.content
    schemas = served.client.get("/openapi.json").json()["components"]["schemas"]
    assert {"Trace", "MonthlyReport", "Reconciliation"} <= set(schemas)
    code, out, err = served.remote(INSPECTOR[0], "trace", "payment", PAYMENT)
    assert code == 0, err
    assert f"追溯 拨付 {PAYMENT}" in out and "签名 ✓" in out and "✗ 0" in out


def test_trace_of_a_fund_pages_as_the_cli(served: Served) -> None:
    bureau = served.token(BUREAU)
    first = served.client.get(f"/v1/trace/fund/{FUND}", params={"limit": 1}, headers=bureau)
    assert first.status_code == 200, first.text
    doc = first.json()
    assert len(doc["events"]) == 1 and doc["summary"] and isinstance(doc["next"], int)
    size = str(doc["checkpoint"]["size"])
    assert first.content == served.local("trace", "fund", FUND, "--json", "--limit", "1", "--checkpoint", size)
    second = served.client.get(f"/v1/trace/fund/{FUND}", params={"limit": 1, "from": doc["next"], "checkpoint": size},
                               headers=bureau)  # fmt: skip
    assert second.status_code == 200, second.text
    assert second.json()["events"][0]["seq"] >= doc["next"]
    assert second.content == served.local("trace", "fund", FUND, "--json", "--limit", "1", "--from", str(doc["next"]),
                                          "--checkpoint", size)  # fmt: skip


def test_trace_is_served_in_scope_only_and_errors_are_problems(served: Served) -> None:
    client = served.client
    institution = served.token("inst-640422-zj")
    assert client.get(f"/v1/trace/claim/{CLAIM}", headers=institution).status_code == 200  # its own claim
    assert client.get(f"/v1/trace/payment/{PAYMENT}", headers=institution).status_code == 200  # paid for its claim
    assert client.get(f"/v1/trace/class/{CLASS}", headers=served.token("hr-640422")).status_code == 200
    assert_problem(client.get(f"/v1/trace/claim/{CLAIM}", headers=served.token(OTHER_BUREAU[0])), 403, "forbidden")
    assert_problem(client.get(f"/v1/trace/claim/{CLAIM}", headers=served.token(OTHER_INSPECTOR[0])), 403, "forbidden")
    assert_problem(client.get(f"/v1/trace/claim/{CLAIM}", headers=served.token("tw-640422-jq")), 403, "forbidden")
    assert_problem(client.get(f"/v1/trace/fund/{FUND}", headers=institution), 403, "forbidden")
    inspector = served.token(INSPECTOR[0])
    assert_problem(client.get("/v1/trace/claim/C-NOPE", headers=inspector), 404, "subject_not_found")
    assert_problem(client.get(f"/v1/trace/household/{CLAIM}", headers=inspector), 404, "not_found")
    assert_problem(client.get(f"/v1/trace/claim/{CLAIM}", params={"checkpoint": 10**9}, headers=inspector), 422,
                   "proof_request_invalid")  # fmt: skip
    assert_problem(client.get(f"/v1/trace/fund/{FUND}", params={"limit": 0}, headers=inspector), 422, "invalid_request")
    assert_problem(client.get(f"/v1/trace/claim/{CLAIM}"), 401, "unauthorized")
    code, _, err = served.remote(OTHER_BUREAU[0], "trace", "claim", CLAIM)
    assert code == 1 and "403 forbidden" in err and len(err.strip().splitlines()) == 1  # a refusal (docs/api.md)


# --- the monthly report -------------------------------------------------------------------------------------
def test_the_monthly_report_is_the_cli_report_in_each_format(served: Served) -> None:
    client, hr = served.client, served.token("hr-640422")
    got = client.get("/v1/reports/monthly", params={"month": "2019-06"}, headers=hr)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    doc = got.json()
    assert (doc["report"], doc["month"], doc["jurisdiction"]) == ("monthly", "2019-06", "640422")  # its own county
    assert m.MonthlyReport.model_validate(doc).model_dump(exclude_unset=True) == doc
    size, as_of = doc["checkpoint"]["size"], doc["as_of"]
    assert as_of == size - 1
    local = ("report", "monthly", "--month", "2019-06", "--jurisdiction", "640422", "--checkpoint", str(size))
    assert got.content == served.local(*local, "--format", "json")
    pinned = {"month": "2019-06", "as_of": as_of}
    html = client.get("/v1/reports/monthly", params={**pinned, "format": "html"}, headers=hr)
    assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.content == served.local(*local, "--format", "html")
    xlsx = client.get("/v1/reports/monthly", params={**pinned, "format": "xlsx"}, headers=hr)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    assert xlsx.headers["content-disposition"] == 'attachment; filename="report-monthly-640422-2019-06.xlsx"'
    out = served.cwd / f"local-{size}.xlsx"
    assert cli(served.cwd, *served.db, *local, "--format", "xlsx", "--out", str(out)).returncode == 0
    assert xlsx.content == out.read_bytes()
    # the CLI with --server writes the same bytes
    remote = served.cwd / f"remote-{size}.xlsx"
    code, _, err = served.remote("hr-640422", *local, "--format", "xlsx", "--out", str(remote))
    assert code == 0, err
    assert remote.read_bytes() == xlsx.content
    code, out_text, err = served.remote("hr-640422", *local, "--format", "json")
    assert code == 0 and out_text.encode("utf-8") == got.content, err


def test_the_monthly_report_is_read_in_scope_only(served: Served) -> None:
    client = served.client
    month = {"month": "2019-06"}
    city = client.get("/v1/reports/monthly", params=month, headers=served.token(INSPECTOR[0]))
    assert city.status_code == 200 and city.json()["jurisdiction"] == "640400"  # a city-level reader: the city's
    county = client.get("/v1/reports/monthly", params={**month, "jurisdiction": "640422"}, headers=served.token(BUREAU))
    assert county.status_code == 200 and county.json()["jurisdiction"] == "640422"
    assert client.get("/v1/reports/monthly", params=month, headers=served.token("pov-640422")).status_code == 200
    assert_problem(client.get("/v1/reports/monthly", params={**month, "jurisdiction": "640400"},
                              headers=served.token("hr-640422")), 403, "forbidden")  # above its county  # fmt: skip
    assert_problem(client.get("/v1/reports/monthly", params={**month, "jurisdiction": "640422"},
                              headers=served.token(OTHER_INSPECTOR[0])), 403, "forbidden")  # fmt: skip
    assert_problem(client.get("/v1/reports/monthly", params=month, headers=served.token("inst-640422-zj")), 403, "forbidden")
    inspector = served.token(INSPECTOR[0])
    assert_problem(client.get("/v1/reports/monthly", params={**month, "as_of": 10**6}, headers=inspector), 404,
                   "checkpoint_not_found")  # fmt: skip
    assert_problem(client.get("/v1/reports/monthly", params={"month": "2019-13"}, headers=inspector), 422, "report_invalid")
    assert_problem(client.get("/v1/reports/monthly", params={**month, "format": "pdf"}, headers=inspector), 422,
                   "invalid_request")  # fmt: skip
    assert_problem(client.get("/v1/reports/monthly", params=month), 401, "unauthorized")


# --- reconciliation -----------------------------------------------------------------------------------------
def _upload(path: Path) -> dict[str, tuple[str, bytes, str]]:
    return {"statement": (path.name, path.read_bytes(), "application/octet-stream")}


@pytest.mark.parametrize("statement", FORMATS)
def test_a_reconciliation_is_the_cli_document_byte_for_byte(served: Served, statement: str) -> None:
    path = STATEMENTS / statement
    as_of = str(served.size() - 1)
    got = served.client.post("/v1/reconciliations", params={"period": "2019-06", "as_of": as_of},
                             files=_upload(path), headers=served.token(BUREAU))  # fmt: skip
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    doc = got.json()
    assert doc["actor"] == BUREAU and doc["reconciliation_id"].startswith("R-2019-06-")
    assert m.Reconciliation.model_validate(doc).model_dump(exclude_unset=True) == doc
    assert {x["payment_id"] for x in doc["lines"] if x["status"] == "matched"} == {PAYMENT}
    assert all(len(x.get("account_tail", "1234")) == 4 for x in doc["lines"])
    local = ("reconcile", "--statement", str(path), "--period", "2019-06", "--as", BUREAU, "--as-of", as_of, "--json")
    assert got.content == served.local(*local)
    code, out, err = served.remote(BUREAU, *local)
    assert code == 0 and out.encode("utf-8") == got.content, err
    # an inspector names the bureau; the same document
    named = served.client.post("/v1/reconciliations", params={"period": "2019-06", "as_of": as_of, "actor": BUREAU,
                                                              "fund": FUND}, files=_upload(path),
                               headers=served.token(INSPECTOR[0]))  # fmt: skip
    assert named.status_code == 200, named.text
    assert named.content == served.local(*local, "--fund", FUND)


def test_reconciliation_readers_and_refusals(served: Served, tmp_path: Path) -> None:
    client, path = served.client, STATEMENTS / FORMATS[1]
    june = {"period": "2019-06"}
    size = served.size()

    def post(actor: str, params: dict[str, str], **kw: object) -> httpx.Response:
        return client.post("/v1/reconciliations", params=params, headers=served.token(actor), **kw)  # type: ignore[arg-type]

    assert_problem(post("hr-640422", june, files=_upload(path)), 403, "forbidden")
    assert_problem(post(OTHER_BUREAU[0], {**june, "actor": BUREAU}, files=_upload(path)), 403, "forbidden")
    assert_problem(post(OTHER_INSPECTOR[0], {**june, "actor": BUREAU}, files=_upload(path)), 403, "forbidden")
    assert_problem(post(INSPECTOR[0], june, files=_upload(path)), 422, "invalid_request")  # which bureau?
    assert_problem(post(INSPECTOR[0], {**june, "actor": "fin-nope"}, files=_upload(path)), 404, "subject_not_found")
    own = post(OTHER_BUREAU[0], june, files=_upload(path))  # another bureau's own payments: none of these
    assert own.status_code == 200 and own.json()["summary"]["matched"] == 0
    as_csv = {**served.token(BUREAU), "content-type": "text/csv"}
    assert_problem(client.post("/v1/reconciliations", params=june, content=path.read_bytes(), headers=as_csv), 415,
                   "unsupported_media_type")  # fmt: skip
    assert_problem(post(BUREAU, june, files={"other": ("x.csv", b"a,b\n", "text/csv")}), 422, "invalid_request")
    assert_problem(post(BUREAU, june, files={"statement": ("big.csv", b"x" * (MAX_STATEMENT + 1), "text/csv")}), 413,
                   "request_too_large")  # fmt: skip
    assert_problem(post(BUREAU, {"period": "June"}, files=_upload(path)), 422, "invalid_request")
    assert_problem(post(BUREAU, {**june, "fund": "F-NOPE"}, files=_upload(path)), 422, "unknown_reference")
    bad = "value_date,bank_reference,account,debit,credit\n2019-06-04,X-1,6222000000000002,12.345,\n"
    problem = assert_problem(post(BUREAU, june, files={"statement": ("bad.csv", bad.encode(), "text/csv")}), 422,
                             "statement_refused")  # fmt: skip
    assert problem["line"] == 2 and "bad.csv" in str(problem["detail"]) and "2" in str(problem["detail"])
    assert_problem(client.post("/v1/reconciliations", params=june, files=_upload(path)), 401, "unauthorized")
    assert served.size() == size  # nothing recorded by any of it
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    said = one_line_error(cli(served.cwd, "--server", str(client.base_url), "reconcile", "--statement", str(tmp_path / "bad.csv"),
                              "--period", "2019-06", "--as", BUREAU), 1)  # fmt: skip
    assert "statement_refused" in said and "bad.csv" in said


def test_reconcile_server_record_signs_locally_and_posts_once(served: Served) -> None:
    path = STATEMENTS / FORMATS[0]
    size = served.size()
    args = ("reconcile", "--statement", str(path), "--period", "2019-06", "--as", BUREAU, "--as-of", str(size - 1),
            "--json", "--record")  # fmt: skip
    code, out, err = served.remote(BUREAU, *args)
    assert code == 0, err
    result = json.loads(out)
    assert f"已记录对账结果：seq {size}" in err
    assert served.size() == size + 1
    page = served.client.get("/v1/events", params={"from": size, "limit": 1}, headers=served.token(INSPECTOR[0])).json()
    envelope = json.loads(page["items"][0]["leaf"])["envelope"]
    assert (envelope["type"], envelope["actor"]) == ("ReconciliationRecorded", BUREAU)  # the bureau's own signature
    assert envelope["body"]["reconciliation_id"] == result["reconciliation_id"]
    code, again, err = served.remote(BUREAU, *args)
    assert code == 0 and again == out, err
    assert "重复" in err and result["reconciliation_id"] in err
    assert served.size() == size + 1
