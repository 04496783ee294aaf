"""A bounded schemathesis run against a real ``serve`` (issue 13): every operation of its own
``/openapi.json``, a few generated requests each, signed in as the city's inspector on a small
seeded ledger. No 5xx but 503, every response conforms to its documented status, media type,
headers and schema; no traceback reaches the server's log (``serving`` checks) and its access log
shows no 5xx. Budget: 30 s of generation (about 1,000 requests), under 70 s with the seeding."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from support.cli import make_ledger
from support.http import serving, sign_in
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"


def schemathesis(
    base_url: str, bearer: str, *, examples: int, seconds: int, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` of the server's own schema (fuzzing only: the coverage phase alone is minutes)."""
    return subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json", "-H", f"Authorization: {bearer}",
         "--checks", CHECKS, "--phases", "examples,fuzzing", "--max-examples", str(examples), "--max-time", str(seconds),
         "--workers", "1", "--seed", "13", "--no-color", "--suppress-health-check", "all"],
        cwd=cwd, capture_output=True, text=True, timeout=seconds + 120,
    )  # fmt: skip


def test_generated_requests_get_documented_answers_and_no_5xx(tmp_path: Path) -> None:
    make_ledger(tmp_path, [*ACTORS, INSPECTOR], example=EXAMPLE)
    with serving(tmp_path) as client:
        bearer = sign_in(client, tmp_path / "keys", INSPECTOR[0])["Authorization"]
        run = schemathesis(str(client.base_url), bearer, examples=5, seconds=30, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed\n", run.stdout)
    assert cases is not None and cases[1] == cases[2] and int(cases[1]) > 100, run.stdout[-3000:]
    text = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    statuses = [json.loads(x)["status"] for x in text.splitlines() if x.startswith("{")]
    assert len(statuses) > 100 and not [s for s in statuses if s >= 500 and s != 503]
