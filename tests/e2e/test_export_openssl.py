"""Exports checked by a stranger: only ``openssl`` and ``sha256sum`` do cryptography here.

The ledger is built through the CLI (the realistic 西吉县 class of ``examples/`` plus a few
thousand registrations, identity confirmations, classes, enrolments and attendance days), then
``export log`` and ``export evidence`` write folders. Everything after that uses no project
code: Python only moves bytes (writes files, converts hex and base64, picks lines); every hash
is ``sha256sum`` or ``openssl dgst -sha256`` and every signature ``openssl pkeyutl -verify
-rawin`` with the raw Ed25519 key wrapped in the fixed 12-byte DER header. A last test runs the
shell commands of ``VERIFY.md`` exactly as written.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import make_ledger
from support.xiji import ACTORS as XIJI_ACTORS
from support.xiji import EXAMPLE, INSPECTOR

ACTORS = [*XIJI_ACTORS, INSPECTOR]
DER_PREFIX = bytes.fromhex("302a300506032b6570032100")  # SubjectPublicKeyInfo header of an Ed25519 key
PAYMENT = "P-2019-640422-0001"
CLASS = "CLS-2019-640422-0001"

pytestmark = pytest.mark.skipif(
    not (shutil.which("openssl") and shutil.which("sha256sum") and shutil.which("xxd")),
    reason="needs openssl, sha256sum and xxd",
)


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "api", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0"}, timeout=600,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    return result


def bulk_intents() -> list[dict]:
    """A few thousand realistic intents: registrations, identity checks, classes, enrolments, attendance."""
    out: list[dict] = []
    at = "2019-0{m}-{d:02d}T10:00:00+08:00"
    laborers = [f"L-640422-1{n:05d}" for n in range(1, 1201)]
    for n, lid in enumerate(laborers, start=1):
        out.append({"actor": "tw-640422-jq", "type": "LaborerRegistered", "at": at.format(m=3, d=1 + n % 28),
                    "body": {"laborer_id": lid, "household_id": f"H-640422-1{n // 3:05d}", "jurisdiction": "640422",
                             "township": "吉强镇", "village": "龙王坝村", "birth_date": "1988-03-15",
                             "category": "poor", "id_fingerprint": f"{n:064x}", "pii_commitment": f"{n + 9:064x}"}})  # fmt: skip
        out.append({"actor": "pov-640422", "type": "IdentityConfirmed", "at": at.format(m=4, d=1 + n % 28),
                    "body": {"laborer_id": lid, "basis": "建档立卡系统比对"}})  # fmt: skip
    for c in range(1, 9):
        cid = f"CLS-2019-640422-1{c:03d}"
        trainees = laborers[(c - 1) * 40 : c * 40]
        out.append({"actor": "inst-640422-zj", "type": "ClassOpeningRequested", "at": at.format(m=5, d=c),
                    "body": {"class_id": cid, "programme": "employment_skill", "occupation": "中式面点",
                             "in_catalog": True, "jurisdiction": "640422", "site": "西吉县职业技术学校实训楼",
                             "planned_start": "2019-06-03", "planned_end": "2019-06-28", "capacity": 40,
                             "hours_per_day": 8, "practical_percent": 70, "subsidy_per_trainee_fen": 150000}})  # fmt: skip
        out.append({"actor": "hr-640422", "type": "ClassOpeningApproved", "at": at.format(m=5, d=c + 10),
                    "body": {"class_id": cid}})  # fmt: skip
        for lid in trainees:
            out.append({"actor": "inst-640422-zj", "type": "TraineeEnrolled", "at": at.format(m=5, d=c + 20),
                        "body": {"class_id": cid, "laborer_id": lid}})  # fmt: skip
        for day in range(3, 23):
            out.append({"actor": "inst-640422-zj", "type": "AttendanceRecorded", "at": at.format(m=6, d=day),
                        "body": {"class_id": cid, "date": f"2019-06-{day:02d}", "trainees": [
                            {"laborer_id": lid, "theory_hours": 2, "practical_hours": 6} for lid in trainees]}})  # fmt: skip
    return out


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cwd = tmp_path_factory.mktemp("export-openssl")
    make_ledger(cwd, ACTORS, example=EXAMPLE)
    bulk = cwd / "bulk.jsonl"
    bulk.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in bulk_intents()), encoding="utf-8")
    imported = cli(cwd, "import", "--sign", str(bulk))
    assert imported.returncode == 0, imported.stderr
    assert cli(cwd, "checkpoint", "--cosign", "fin-640422").returncode == 0
    out = {}
    for name, args in {
        "log": ["export", "log", "log"],
        "payment": ["export", "evidence", "payment", PAYMENT, "payment"],
        "class": ["export", "evidence", "class", CLASS, "class"],
    }.items():
        result = cli(cwd, *args)
        assert result.returncode == 0, result.stderr
        out[name] = cwd / name
    return out


# --- the stranger's tools ---------------------------------------------------------------------------------------
def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, timeout=600)


def sha256sum(paths: list[Path]) -> list[str]:
    """``sha256sum`` over many files in few processes; hex digests in input order."""
    digests: list[str] = []
    for start in range(0, len(paths), 2000):
        result = run("sha256sum", *map(str, paths[start : start + 2000]))
        assert result.returncode == 0
        digests += [line.split()[0] for line in result.stdout.decode().splitlines()]
    assert len(digests) == len(paths)
    return digests


def openssl_sha256(paths: list[Path]) -> list[str]:
    digests: list[str] = []
    for start in range(0, len(paths), 2000):
        result = run("openssl", "dgst", "-sha256", "-r", *map(str, paths[start : start + 2000]))
        assert result.returncode == 0, result.stderr
        digests += [line.split()[0] for line in result.stdout.decode().splitlines()]
    assert len(digests) == len(paths)
    return digests


def openssl_ed25519_ok(work: Path, raw_key: bytes, message: bytes, signature: bytes) -> bool:
    (work / "key.der").write_bytes(DER_PREFIX + raw_key)
    (work / "msg.bin").write_bytes(message)
    (work / "sig.bin").write_bytes(signature)
    result = run("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.der", "-keyform", "DER",
                 "-rawin", "-in", "msg.bin", "-sigfile", "sig.bin", cwd=work)  # fmt: skip
    return result.returncode == 0 and b"Signature Verified Successfully" in result.stdout


def leaves_of(folder: Path) -> list[bytes]:
    data = (folder / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def seq_of(leaf: bytes) -> int:
    match = re.search(rb',"seq":(\d+)}$', leaf)
    assert match, leaf[-40:]
    return int(match.group(1))


def checkpoint_parts(folder: Path) -> tuple[bytes, str, int, bytes, list[str]]:
    note = (folder / "checkpoint").read_bytes()
    body, _, sigs = note.partition(b"\n\n")
    body += b"\n"
    origin, size, root = body.decode().splitlines()
    return body, origin, int(size), base64.b64decode(root), sigs.decode().splitlines()


def check_checkpoint_signature(folder: Path, work: Path) -> tuple[int, bytes]:
    body, origin, size, root, lines = checkpoint_parts(folder)
    name, hex_id, blob = (folder / "operator.pub").read_text().strip().split("+", 2)
    key_blob = base64.b64decode(blob)
    assert name == origin and key_blob[0] == 1
    key = key_blob[1:]
    (work / "keyid.in").write_bytes(name.encode() + b"\n\x01" + key)
    assert sha256sum([work / "keyid.in"])[0][:8] == hex_id  # C2SP key id
    line = next(x for x in lines if x.startswith(f"— {origin} "))
    sig_blob = base64.b64decode(line.split(" ")[2])
    assert sig_blob[:4].hex() == hex_id
    assert openssl_ed25519_ok(work, key, body, sig_blob[4:])
    assert not openssl_ed25519_ok(work, key, body.replace(b"\n", b"\n\n", 1), sig_blob[4:])
    return size, root


def leaf_hashes(leaves: list[bytes], work: Path) -> list[str]:
    folder = work / "leaves"
    folder.mkdir(exist_ok=True)
    paths = []
    for i, leaf in enumerate(leaves):
        path = folder / f"{i:09d}"
        path.write_bytes(b"\x00" + leaf)  # RFC 9162: leaf hash = SHA-256(0x00 || leaf)
        paths.append(path)
    return sha256sum(paths)


def signed_bytes(leaf: bytes) -> tuple[bytes, bytes, str]:
    """The envelope without ``sig`` (JCS already), its signature and key id — by slicing, as VERIFY.md does."""
    envelope = re.sub(rb',"recorded_at":"[^"]*","seq":[0-9]*}$', b"", leaf.removeprefix(b'{"envelope":'))
    sig = re.search(rb'"sig":"([A-Za-z0-9+/=]*)",', envelope)
    assert sig
    message = envelope.replace(sig.group(0), b"", 1)
    key_id = re.findall(rb'"key_id":"ed25519:([0-9a-f]{32})"', leaf)[-1].decode()
    return message, base64.b64decode(sig.group(1)), key_id


def registered_keys(leaves: list[bytes], work: Path) -> dict[str, tuple[int, bytes]]:
    """key id -> (seq of the registering leaf, raw key), key ids recomputed with sha256sum."""
    found = []
    for leaf in leaves:
        if b'"type":"ActorRegistered"' in leaf or b'"type":"KeyRotated"' in leaf:
            pk = re.search(rb'"public_key":"([A-Za-z0-9+/=]{44})"', leaf)
            assert pk
            found.append((seq_of(leaf), base64.b64decode(pk.group(1))))
    folder = work / "keys"
    folder.mkdir(exist_ok=True)
    paths = []
    for i, (_, raw) in enumerate(found):
        (folder / f"{i}").write_bytes(raw)
        paths.append(folder / f"{i}")
    return {digest[:32]: (seq, raw) for digest, (seq, raw) in zip(sha256sum(paths), found, strict=True)}


# --- the checks -------------------------------------------------------------------------------------------------------
def test_the_whole_log_recomputes_to_the_signed_root(exports: dict[str, Path], tmp_path: Path) -> None:
    folder = exports["log"]
    size, root = check_checkpoint_signature(folder, tmp_path)
    leaves = leaves_of(folder)
    assert len(leaves) == size > 2500
    assert [seq_of(leaf) for leaf in leaves] == list(range(size))
    level = leaf_hashes(leaves, tmp_path)
    # RFC 9162 §2.1.1 bottom-up: pair left to right, 0x01 ‖ left ‖ right; an odd last node moves up.
    depth = 0
    while len(level) > 1:
        depth += 1
        folder_n = tmp_path / f"level{depth}"
        folder_n.mkdir()
        paths = []
        for i in range(0, len(level) - 1, 2):
            path = folder_n / f"{i // 2:09d}"
            path.write_bytes(b"\x01" + bytes.fromhex(level[i]) + bytes.fromhex(level[i + 1]))
            paths.append(path)
        level = openssl_sha256(paths) + ([level[-1]] if len(level) % 2 else [])
    assert bytes.fromhex(level[0]) == root
    # Registry leaves and a sample of the rest: each envelope signature with the key registered before it.
    keys = registered_keys(leaves, tmp_path)
    sample = [leaf for i, leaf in enumerate(leaves) if i < 25 or i % 97 == 0]
    for leaf in sample:
        message, sig, key_id = signed_bytes(leaf)
        reg_seq, raw = keys[key_id]
        assert reg_seq <= seq_of(leaf)
        assert openssl_ed25519_ok(tmp_path, raw, message, sig), leaf[:120]
    message, sig, key_id = signed_bytes(sample[-1])
    assert not openssl_ed25519_ok(tmp_path, keys[key_id][1], message.replace(b"2019", b"2018", 1), sig)


@pytest.mark.parametrize("bundle", ["payment", "class"])
def test_an_evidence_bundle_proves_each_leaf_and_signature(exports: dict[str, Path], tmp_path: Path, bundle: str) -> None:
    folder = exports[bundle]
    size, root = check_checkpoint_signature(folder, tmp_path)
    leaves = leaves_of(folder)
    seqs = [seq_of(leaf) for leaf in leaves]
    assert seqs == sorted(set(seqs)) and seqs[0] == 0 and len(leaves) < size // 10
    proofs = json.loads((folder / "proofs.json").read_text())
    assert proofs["size"] == size and sorted(map(int, proofs["inclusion"])) == seqs
    # Walk every inclusion path at once, one openssl call per tree level (RFC 9162 §2.1.3.2).
    hashes = leaf_hashes(leaves, tmp_path)
    state = [(seq, size - 1, h, [base64.b64decode(p).hex() for p in proofs["inclusion"][str(seq)]])
             for seq, h in zip(seqs, hashes, strict=True)]  # fmt: skip
    step = 0
    while any(path for *_, path in state):
        step += 1
        work = tmp_path / f"step{step}"
        work.mkdir()
        jobs = []
        for i, (fn, sn, h, path) in enumerate(state):
            if not path:
                continue
            assert sn != 0, "inclusion path too long"
            p = path[0]
            if fn % 2 == 1 or fn == sn:
                pair, fn_next, sn_next = p + h, fn, sn
                if fn % 2 == 0:
                    while fn_next and fn_next % 2 == 0:
                        fn_next, sn_next = fn_next >> 1, sn_next >> 1
            else:
                pair, fn_next, sn_next = h + p, fn, sn
            (work / f"{i:06d}").write_bytes(b"\x01" + bytes.fromhex(pair))
            jobs.append((i, fn_next >> 1, sn_next >> 1, path[1:]))
        digests = openssl_sha256([work / f"{i:06d}" for i, *_ in jobs])
        for (i, fn, sn, rest), digest in zip(jobs, digests, strict=True):
            state[i] = (fn, sn, digest, rest)
    for _, sn, h, _ in state:
        assert sn == 0 and bytes.fromhex(h) == root
    # Every envelope signature, with a key registered in the bundle before that leaf.
    keys = registered_keys(leaves, tmp_path)
    for leaf in leaves:
        message, sig, key_id = signed_bytes(leaf)
        reg_seq, raw = keys[key_id]
        assert reg_seq <= seq_of(leaf)
        assert openssl_ed25519_ok(tmp_path, raw, message, sig), leaf[:120]
    text = b"\n".join(leaves)
    if bundle == "payment":
        for needed in (b'"type":"PaymentDisbursed"', b'"type":"SubsidyClaimed"', b'"type":"ClassOpeningRequested"',
                       b'"type":"FundAllocated"', b'"laborer_id":"L-640422-000012"', b'"type":"CertificateIssued"'):  # fmt: skip
            assert needed in text, needed
    assert b"L-640422-100001" not in text  # labourers of other classes stay out
    assert text.count(b'"type":"TraineeEnrolled"') == 12


def test_verify_md_commands_run_as_written(exports: dict[str, Path], tmp_path: Path) -> None:
    for name in ("log", "payment"):
        work = tmp_path / name
        shutil.copytree(exports[name], work)
        guide = (work / "VERIFY.md").read_text(encoding="utf-8")
        assert "警告" in guide and "Warning" in guide and "operator.pub" in guide
        script = "\n".join(re.findall(r"```sh\n(.*?)```", guide, flags=re.S))
        result = subprocess.run(["bash", "-c", "set -e\n" + script], cwd=work, capture_output=True, timeout=600)
        assert result.returncode == 0, result.stderr.decode()
        out = result.stdout.decode().split()
        _, origin, size, root, _ = checkpoint_parts(work)
        assert out.count("Verified") == 2  # the checkpoint and one envelope: "Signature Verified Successfully"
        assert root.hex() in out
        if name == "log":
            assert out[-1] == root.hex()
        else:
            assert out[-2:] == ["0", root.hex()]
