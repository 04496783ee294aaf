"""``GET /v1/evidence/{kind}/{id}`` from a real ``serve``: the ``export evidence`` bundle, zipped, in scope only."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from ledger.encoding.b64 import b64decode_strict
from ledger.translog import merkle
from ledger.translog.note import Checkpoint, parse_note, parse_verifier_key
from ledger.translog.verify import verify_checkpoint_note
from support.cli import cli, make_ledger
from support.http import assert_problem, serving, sign_in
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

CLAIM, PAYMENT = "C-2019-640422-0001", "P-2019-640422-0001"
OTHER_COUNTY = ("fin-640402", "finance_bureau", "640402", "原州区财政局")


def test_evidence_is_the_export_zipped_for_those_in_scope(db_url: str, tmp_path: Path) -> None:
    db = ("--db", db_url)
    make_ledger(tmp_path, [*ACTORS, INSPECTOR, OTHER_COUNTY], example=EXAMPLE, env={"LEDGER_DB": db_url})
    keys = tmp_path / "keys"
    with serving(tmp_path, *db) as client:
        inspector = sign_in(client, keys, INSPECTOR[0])
        got = client.get(f"/v1/evidence/claim/{CLAIM}", headers=inspector)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "application/zip"
        assert f"evidence-claim-{CLAIM}.zip" in got.headers["content-disposition"]
        files = _unzipped(got.content, f"evidence-claim-{CLAIM}")
        assert set(files) == {"entries.jsonl", "checkpoint", "operator.pub", "proofs.json", "VERIFY.md"}
        checkpoint = verify_checkpoint_note(files["checkpoint"].decode(), [parse_verifier_key(files["operator.pub"].decode().strip())])
        proofs = json.loads(files["proofs.json"])
        leaves = files["entries.jsonl"].splitlines()
        assert proofs["size"] == checkpoint.size and len(leaves) == len(proofs["inclusion"]) > 20
        for leaf in leaves:
            seq = json.loads(leaf)["seq"]
            path = [b64decode_strict(h) for h in proofs["inclusion"][str(seq)]]
            merkle.verify_inclusion(merkle.leaf_hash(leaf), seq, checkpoint.size, path, checkpoint.root_hash)
        assert {json.loads(x)["envelope"]["type"] for x in leaves} >= {"SubsidyClaimed", "ActorRegistered", "LaborerRegistered"}
        assert _unzipped(client.get(f"/v1/evidence/claim/{CLAIM}", headers=inspector).content,
                         f"evidence-claim-{CLAIM}") == files  # the same bundle again, byte for byte  # fmt: skip

        # the same leaves as `export evidence` on the operator's machine
        local = cli(tmp_path, *db, "export", "evidence", "claim", CLAIM, str(tmp_path / "local"))
        assert local.returncode == 0, local.stderr
        assert (tmp_path / "local" / "entries.jsonl").read_bytes() == files["entries.jsonl"]
        assert Checkpoint.parse(parse_note((tmp_path / "local" / "checkpoint").read_text()).text).size == checkpoint.size

        # the CLI's export evidence --server unpacks the same bundle
        remote = cli(tmp_path, "--server", str(client.base_url), "--as", INSPECTOR[0], "export", "evidence", "claim", CLAIM,
                     str(tmp_path / "remote"))  # fmt: skip
        assert remote.returncode == 0, remote.stderr
        assert {p.name: p.read_bytes() for p in (tmp_path / "remote").iterdir()} == files
        assert f"{len(leaves)}" in remote.stdout
        assert cli(tmp_path, "--server", str(client.base_url), "--as", INSPECTOR[0], "export", "evidence", "claim", CLAIM,
                   str(tmp_path / "remote")).returncode == 2  # not an empty folder  # fmt: skip

        # in scope: the claimant its claim and the payment of it; the county's bureau; not another county, not a township
        institution = sign_in(client, keys, "inst-640422-zj")
        assert client.get(f"/v1/evidence/claim/{CLAIM}", headers=institution).status_code == 200
        assert client.get(f"/v1/evidence/payment/{PAYMENT}", headers=institution).status_code == 200
        assert client.get(f"/v1/evidence/payment/{PAYMENT}", headers=sign_in(client, keys, "fin-640422")).status_code == 200
        assert_problem(client.get(f"/v1/evidence/claim/{CLAIM}", headers=sign_in(client, keys, OTHER_COUNTY[0])), 403, "forbidden")
        assert_problem(client.get(f"/v1/evidence/claim/{CLAIM}", headers=sign_in(client, keys, "tw-640422-jq")), 403, "forbidden")
        assert_problem(client.get("/v1/evidence/claim/C-NOPE", headers=inspector), 404, "subject_not_found")
        assert_problem(client.get(f"/v1/evidence/household/{CLAIM}", headers=inspector), 404, "not_found")
        assert_problem(client.get(f"/v1/evidence/claim/{CLAIM}"), 401, "unauthorized")


def _unzipped(data: bytes, root: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert all(n.startswith(root + "/") for n in names), names
        return {n.removeprefix(root + "/"): archive.read(n) for n in names}
