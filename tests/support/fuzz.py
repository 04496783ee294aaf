"""Structured fuzzing of what ``import`` reads per line: strict JSON, then envelope validation.

``cases(seed, n)`` mutates valid signed envelopes of several event types (byte flips,
truncation, duplicated keys, floats, huge integers, deep nesting, lone surrogates, wrong
types, extra or missing fields, unicode oddities, a BOM, very long strings, base64 variants…)
into at most :data:`MAX_CASE` bytes each, deterministically for a seed. ``run_case`` feeds one
case to the same entry point ``import`` uses for a line (:func:`ledger.keys.signing.parse_line`,
no database) and applies the oracle: the case is either a valid envelope — whose canonical
bytes, signing bytes, business date and named subjects can then be computed — or a refusal
(:class:`ledger.errors.Refused`, with its reason code). Any other exception escapes: a crash.
Used by ``tests/unit/test_fuzz_envelopes.py`` (bounded, in CI) and
``benchmarks/bench_fuzz.py`` (the 100k campaign).
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.envelope import Envelope, b64_public_key, public_key_bytes, sign_envelope
from ledger.errors import Refused
from ledger.keys.signing import parse_line

MAX_CASE = 256 * 1024  # bytes: bounds each case so that no case can take long
SEED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
AT = "2019-04-01T09:00:00+08:00"
HEX = "ab" * 32

_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("ActorRegistered", {"actor_id": "inst-xj", "name": "西吉县职业技术学校", "role": "institution",
                         "jurisdiction": "640422", "uscc": "12640422MB1234567X",
                         "public_key": b64_public_key(public_key_bytes(OTHER_KEY))}),
    ("KeyRotated", {"actor_id": "inst-xj", "public_key": b64_public_key(public_key_bytes(OTHER_KEY))}),
    ("KeyRevoked", {"actor_id": "inst-xj", "key_id": "ed25519:" + "0f" * 16, "reason": "钥匙遗失",
                    "effective_at": "2019-03-01T00:00:00Z"}),
    ("LaborerRegistered", {"laborer_id": "L-0001", "household_id": "H-0001", "jurisdiction": "640422",
                           "township": "吉强镇", "village": "龙王坝村", "birth_date": "1985-06-01",
                           "gender": "female", "category": "poor", "id_fingerprint": HEX,
                           "pii_commitment": "cd" * 32}),
    ("AttendanceRecorded", {"class_id": "C-1", "date": "2019-05-02", "trainees": [
        {"laborer_id": "L-0001", "theory_hours": 2, "practical_hours": 6},
        {"laborer_id": "L-0002", "theory_hours": 0, "practical_hours": 0}]}),
    ("SubsidyClaimed", {"claim_id": "CL-1", "kind": "training", "class_id": "C-1", "lines": [
        {"laborer_id": "L-0001", "amount_fen": 150000, "certificate_no": "T-1"},
        {"laborer_id": "L-0002", "amount_fen": 80000}], "payee_account": HEX, "total_fen": 230000}),
    ("InspectionRecorded", {"inspection_id": "I-1", "method": "site_visit", "subject_kind": "class",
                            "subject_id": "C-1", "date": "2019-05-03", "class_id": "C-1",
                            "present": ["L-0001"], "absent": ["L-0002"],
                            "checklist": {"plan": True, "teachers": True, "facilities": False,
                                          "practical": True, "textbooks": True, "attendance": False},
                            "findings": [{"laborer_id": "L-0002", "code": "attendance_denied",
                                          "note": "本人称未参训"}], "verdict": "fail"}),
    ("PayrollRecorded", {"employment_id": "E-1", "month": "2019-07", "wage_fen": 260000}),
    ("EmploymentProofSubmitted", {"employment_id": "E-1", "months": ["2019-07", "2019-08"]}),
    ("PaymentDisbursed", {"payment_id": "P-1", "claim_id": "CL-1", "fund_id": "F-1", "amount_fen": 230000,
                          "payee_account": HEX, "bank_reference": "B20190601-0001",
                          "value_date": "2019-06-01"}),
    ("FundAdjusted", {"fund_id": "F-1", "delta_fen": -500000, "reason": "红字冲销"}),
    ("ReconciliationRecorded", {"reconciliation_id": "RC-1", "period": "2019-06", "statement_sha256": HEX,
                                "matched": 12, "unmatched_ledger": 0, "unmatched_bank": 1, "mismatched": 0}),
    ("AnomalyDisposed", {"anomaly_id": "A-" + "0a" * 20, "disposition": "confirmed", "note": "属实"}),
]  # fmt: skip


def seed_envelopes() -> list[dict[str, Any]]:
    """Valid signed envelopes, one per type above; every other ``officer`` set."""
    out = []
    for n, (event_type, body) in enumerate(_BODIES):
        unsigned: dict[str, Any] = {"type": event_type, "actor": "inst-xj", "at": AT,
                                    "nonce": f"fuzz-{n:04d}", "body": copy.deepcopy(body)}  # fmt: skip
        if n % 2:
            unsigned["officer"] = "工号 0042"
        out.append(sign_envelope(unsigned, SEED_KEY))
    return out


# --- a JSON writer that can also write what json.dumps cannot --------------------------------------
@dataclass(frozen=True)
class Raw:
    """Text written into the JSON as it is: a float, a 5,000-digit integer, a lone surrogate."""

    text: str


class Pairs(list):  # type: ignore[type-arg]
    """An object written from (key, value) pairs, so a key can appear twice."""


def encode(value: Any, ascii_only: bool = False) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, (dict, Pairs)):
        items = value.items() if isinstance(value, dict) else value
        return "{" + ",".join(f"{encode(k, ascii_only)}:{encode(v, ascii_only)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v, ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


# --- where to mutate --------------------------------------------------------------------------------
Path = tuple[Any, ...]


def _paths(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*path, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, (*path, i))


def _set(root: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return root


def _pick(rng: random.Random, env: Any, want: Callable[[Any], bool] = lambda v: True) -> Path | None:
    found = [p for p, v in _paths(env) if p and want(v)]
    return rng.choice(found) if found else None


# --- the mutations: (rng, envelope) -> bytes -----------------------------------------------------------
EXTRA_KEYS = ["pii", "extra", "", "Sig", "签名", "__proto__", "constructor", "v ", "a\u0000b", "sig\u200b"]
WRONG_VALUES: list[Any] = [0, -1, 1, True, False, None, "", "x", [], {}, "1", "true", "null", [1], {"a": 1},
                           2**53 - 1, -(2**53 - 1), "2019-04-01", HEX, "L-0001"]  # fmt: skip
FLOATS = ["1.0", "1e5", "-0.0", "1E+2", "0.1", "1e400", "-1e-400", "NaN", "Infinity", "-Infinity", "1.5e308"]
NUMBERS = ["-0", "01", "+1", "0x10", "1_000", ".5", "5.", "1e", "--1", "9" * 16, str(2**53), str(-(2**53))]
ODD_TEXT = ["\u200b", "\u202e", "\u00a0", "１２３", "\u0301", "e\u0301", "\uffff", "\ufeff", "\u2028", "😀",
            "\U0010ffff", "\ufdd0", "\u0000", "\t", "\x7f", "\u3000", "\u0660\u0661", "İ", "ß", "\ufffd"]
SURROGATES = ["\\ud800", "\\udfff", "\\ude00\\ud83d", "\\ud83d\\ude00", "x\\udbff", "\\uD800\\u0041", "\\udc00"]
B64_FIELDS = ("sig", "public_key")


def m_drop_key(rng: random.Random, env: dict[str, Any]) -> bytes:
    path = _pick(rng, env)
    if path is not None:
        parent = env
        for step in path[:-1]:
            parent = parent[step]
        del parent[path[-1]]
    return _dumps(rng, env)


def m_extra_key(rng: random.Random, env: dict[str, Any]) -> bytes:
    objects = [p for p, v in _paths(env) if isinstance(v, dict)]
    path = rng.choice(objects)
    target = env
    for step in path:
        target = target[step]
    target[rng.choice(EXTRA_KEYS)] = rng.choice(WRONG_VALUES)
    return _dumps(rng, env)


def m_wrong_type(rng: random.Random, env: dict[str, Any]) -> bytes:
    path = _pick(rng, env)
    assert path is not None
    return _dumps(rng, _set(env, path, copy.deepcopy(rng.choice(WRONG_VALUES))))


def m_huge_int(rng: random.Random, env: dict[str, Any]) -> bytes:
    digits = rng.choice([17, 20, 309, 4300, 4301, 5000, 20000, 100000])
    block = "".join(rng.choices("0123456789", k=64))
    text = rng.choice(["", "-"]) + str(rng.randint(1, 9)) + (block * (digits // 64 + 1))[: digits - 1]
    path = _pick(rng, env, lambda v: isinstance(v, int) and not isinstance(v, bool)) or _pick(rng, env)
    assert path is not None
    return _dumps(rng, _set(env, path, Raw(text)))


def m_float(rng: random.Random, env: dict[str, Any]) -> bytes:
    path = _pick(rng, env, lambda v: isinstance(v, int) and not isinstance(v, bool)) or _pick(rng, env)
    assert path is not None
    return _dumps(rng, _set(env, path, Raw(rng.choice(FLOATS + NUMBERS))))


def m_deep(rng: random.Random, env: dict[str, Any]) -> bytes:
    depth = rng.choice([10, 100, 900, 1000, 5000, 50000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}"), ('[{"a":[', "]}]")])
    if opener != "[":
        depth = min(depth, MAX_CASE // (len(opener) + len(closer)) - 100)
    path = _pick(rng, env) or ("body",)
    return _dumps(rng, _set(env, path, Raw(opener * depth + "1" + closer * depth)))


def m_surrogate(rng: random.Random, env: dict[str, Any]) -> bytes:
    path = _pick(rng, env, lambda v: isinstance(v, str))
    assert path is not None
    old = _get(env, path)
    cut = rng.randint(0, len(old))
    text = json.dumps(old[:cut])[:-1] + rng.choice(SURROGATES) + json.dumps(old[cut:])[1:]
    return _dumps(rng, _set(env, path, Raw(text)))


def m_unicode(rng: random.Random, env: dict[str, Any]) -> bytes:
    path = _pick(rng, env, lambda v: isinstance(v, str))
    assert path is not None
    old = _get(env, path)
    cut = rng.randint(0, len(old))
    odd = rng.choice(ODD_TEXT)
    new = rng.choice([old[:cut] + odd + old[cut:], old.translate(_FULLWIDTH), old + "\n", " " + old])
    return _dumps(rng, _set(env, path, new))


_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789-:"}


def m_long_string(rng: random.Random, env: dict[str, Any]) -> bytes:
    path = _pick(rng, env, lambda v: isinstance(v, str)) or _pick(rng, env)
    assert path is not None
    n = rng.choice([65, 201, 2001, 10000, 60000, MAX_CASE // 4])
    return _dumps(rng, _set(env, path, rng.choice("x中\\") * n if rng.random() < 0.9 else "a" * n))


def m_base64(rng: random.Random, env: dict[str, Any]) -> bytes:
    where = ("sig",) if rng.random() < 0.6 or "public_key" not in env["body"] else ("body", "public_key")
    old: str = _get(env, where)
    raw = base64.b64decode(old)
    variants = [
        base64.urlsafe_b64encode(raw).decode(), old.rstrip("="), old + "=", old + "==",
        old[:10] + "\n" + old[10:], old[:-2] + chr(ord(old[-2]) ^ 1) + old[-1], old.lower(),
        old[:-4], old + "AAAA", old[:5] + "é" + old[6:], " " + old, base64.b64encode(raw[:-1]).decode(),
        base64.b64encode(raw + b"\0").decode(), base64.b32encode(raw).decode(), raw.hex(), "",
        base64.b64encode(bytes(64)).decode(), old.replace("=", "%3D"), old[:-1] + "*",
    ]  # fmt: skip
    return _dumps(rng, _set(env, where, rng.choice(variants)))


def m_field_value(rng: random.Random, env: dict[str, Any]) -> bytes:
    field, values = rng.choice(_FIELD_VALUES)
    return _dumps(rng, _set(env, field, rng.choice(values)))


_DATES = ["2019-02-29", "2020-02-29", "2019-13-01", "2019-00-10", "0000-01-01", "9999-12-31", "2100-01-01",
          "2099-12-31", "19-04-01", "2019-4-1", "2019/04/01", "２０１９-０４-０１", "2019-04-01T00:00:00Z", ""]
_ATS = ["2019-04-01T09:00:00", "2019-04-01 09:00:00+08:00", "2019-04-01t09:00:00z", "2019-04-01T24:00:00Z",
        "2019-04-01T23:59:60Z", "2019-04-01T09:00:00+24:00", "2019-04-01T09:00:00.1234567Z",
        "2019-04-01T09:00:00.123456+08:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00",
        "2019-04-01T09:00:00-00:00", "2019-W14-1T09:00:00Z", "2019-04-01T09:00Z", "2019-04-01T09:00:00+0800"]
_FIELD_VALUES: list[tuple[Path, list[Any]]] = [
    (("v",), [0, 2, True, "1", Raw("1.0"), None, [1]]),
    (("type",), ["", "laborerregistered", "LaborerDeleted", "__class__", "BODIES", "toString", "Body",
                 "ActorRegistered", "PersonalDataErased", "AttendanceLine", "ClaimLine", "Checklist"]),
    (("actor",), ["", "a" * 65, "inst xj", "inst-xj\n", "инст", "a/b", "a" * 64]),
    (("key_id",), ["ed25519:" + "0" * 31, "ed25519:" + "A" * 32, "Ed25519:" + "0" * 32, "ed25519:" + "0" * 33]),
    (("nonce",), ["1234567", "1" * 65, "nonce nonce", "nonce\u00e9xx", "１２３４５６７８", "........"]),
    (("at",), _ATS + _DATES),
    (("officer",), ["", "x" * 65, "a\nb", "\u200b", "工号\x00", "x" * 64]),
    (("body", "laborer_id"), ["", "L 1", "L-1\n", "x" * 65]),
    (("body", "date"), _DATES),
    (("body", "month"), ["2019-13", "2019-00", "2019-7", "２０１９-07", "0000-01", "2100-01", "2099-12"]),
    (("body", "months"), [[], ["2019-07", "2019-07"], ["2019-13"], "2019-07"]),
    (("body", "total_fen"), [0, 1, -1, 2**53 - 1, 230001]),
    (("body", "lines"), [[], [{}], [{"laborer_id": "L-1", "amount_fen": -5}], None]),
    (("body", "trainees"), [[], [{"laborer_id": "L-1", "theory_hours": 25, "practical_hours": 0}], [None]]),
    (("body", "checklist"), [None, {}, {"plan": 1}, []]),
    (("body", "kind"), ["living_allowance", "employer", "appraisal", "other"]),
    (("body", "effective_at"), _ATS),
    (("body", "jurisdiction"), ["640422", "64042", "６４０４２２", "999999", "640422 "]),
]  # fmt: skip


def m_duplicate_key(rng: random.Random, env: dict[str, Any]) -> bytes:
    objects = [p for p, v in _paths(env) if isinstance(v, dict) and v]
    path = rng.choice(objects)
    target = _get(env, path)
    key = rng.choice(list(target))
    pairs = Pairs(target.items())
    pairs.insert(rng.randint(0, len(pairs)), (key, rng.choice([target[key], copy.deepcopy(rng.choice(WRONG_VALUES))])))
    return _dumps(rng, _set(env, path, pairs))


def t_bom(rng: random.Random, text: bytes) -> bytes:
    bom = "\ufeff".encode()
    return rng.choice([bom + text, b" " + bom + text, text + bom, text[:1] + bom + text[1:],
                       "\ufeff".encode("utf-16")[:2] + text, b"\xef\xbb" + text])  # fmt: skip


def t_byte_flip(rng: random.Random, text: bytes) -> bytes:
    data = bytearray(text)
    for _ in range(rng.choice([1, 1, 2, 8])):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def t_truncate(rng: random.Random, text: bytes) -> bytes:
    return text[: rng.randrange(len(text))] if text else text


def t_insert_bytes(rng: random.Random, data: bytes) -> bytes:
    junk = rng.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x00", b"\n", b"\r", b",", b"}", b"]", b"\"",
                       b"\\", b"/*x*/", b"{}", b" null", b"\xe4\xb8", bytes(rng.randrange(256) for _ in range(4))])  # fmt: skip
    i = rng.randrange(len(data) + 1)
    return data[:i] + junk + data[i:]


def t_whole(rng: random.Random, text: bytes) -> bytes:
    """Not an object at all, or an object around it, or two of them."""
    return rng.choice([b"", b" ", b"null", b"[]", b"{}", b"1", b'"x"', b"[" + text + b"]", text + text,
                       text + b" x", b'{"envelope":' + text + b"}", text + b"\n" + text, b"\t" + text + b"\r\n"])


def m_resign(rng: random.Random, env: dict[str, Any]) -> bytes:
    """A structural change, signed again: the signature is good, the body is what is wrong."""
    path = _pick(rng, env["body"]) if env["body"] else None
    if path is not None:
        _set(env["body"], path, copy.deepcopy(rng.choice(WRONG_VALUES)))
    if rng.random() < 0.5:
        env["type"] = rng.choice(_BODIES)[0]
    unsigned = {k: v for k, v in env.items() if k not in ("sig", "v", "key_id")}
    return _dumps(rng, sign_envelope(unsigned, SEED_KEY))


def m_valid(rng: random.Random, env: dict[str, Any]) -> bytes:
    """The envelope unchanged, in another valid spelling: key order, spacing, \\u escapes."""
    return _dumps(rng, env)


STRUCTURAL: dict[str, Callable[[random.Random, dict[str, Any]], bytes]] = {
    "drop_key": m_drop_key, "extra_key": m_extra_key, "wrong_type": m_wrong_type, "huge_int": m_huge_int,
    "float": m_float, "deep_nesting": m_deep, "lone_surrogate": m_surrogate, "unicode": m_unicode,
    "long_string": m_long_string, "base64": m_base64, "field_value": m_field_value,
    "duplicate_key": m_duplicate_key, "resign": m_resign, "valid": m_valid,
}  # fmt: skip
TEXTUAL: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "bom": t_bom, "byte_flip": t_byte_flip, "truncate": t_truncate, "insert_bytes": t_insert_bytes,
    "whole": t_whole,
}  # fmt: skip
MUTATIONS = sorted([*STRUCTURAL, *TEXTUAL])


def _get(root: Any, path: Path) -> Any:
    for step in path:
        root = root[step]
    return root


def _dumps(rng: random.Random, env: Any) -> bytes:
    """Serialise with a random valid spelling (key order, spaces, ASCII escapes)."""
    if isinstance(env, dict) and rng.random() < 0.3:
        items = list(env.items())
        rng.shuffle(items)
        env = dict(items)
    text = encode(env, ascii_only=rng.random() < 0.2)
    if rng.random() < 0.1:
        text = text.replace(",", ", ").replace(":", " : ", 3)
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Case:
    mutation: str
    data: bytes


def cases(seed: int, n: int) -> Iterator[Case]:
    """``n`` cases, the same ones for the same seed; one structural mutation in five is followed
    by a textual one."""
    rng = random.Random(seed)
    seeds = seed_envelopes()
    for _ in range(n):
        env = copy.deepcopy(rng.choice(seeds))
        name = rng.choice(MUTATIONS)
        if name in TEXTUAL:
            data = TEXTUAL[name](rng, _dumps(rng, env))
        else:
            data = STRUCTURAL[name](rng, env)
            if rng.random() < 0.2:
                second = rng.choice(["byte_flip", "truncate", "insert_bytes"])
                data = TEXTUAL[second](rng, data)
                name = f"{name}+{second}"
        yield Case(name, data[:MAX_CASE])


# --- the oracle ----------------------------------------------------------------------------------------
class Crash(Exception):
    """The parser raised something other than a refusal, or accepted what it must not."""


_ASCII_DATE_FIELDS = re.compile(r"^(at|date|month|months|period|.*_date|effective_.*|planned_.*|issued_on|value_date)$")


def run_case(data: bytes) -> str:
    """``"valid"`` or the refusal's code; anything else raises (that is a crash)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        from ledger.encoding.canonical import loads_strict

        try:
            loads_strict(data)
        except Refused as exc:
            return exc.code
        raise Crash("bytes that are not UTF-8 were parsed") from None
    item = parse_line(text, None)
    if item.error is not None:
        if not isinstance(item.error, Refused) or not item.error.code or not str(item.error):
            raise Crash(f"refusal without a code or reason: {item.error!r}")
        return item.error.code
    env = item.envelope
    assert env is not None
    _accepted_is_sound(env)
    return "valid"


def _accepted_is_sound(env: Envelope) -> None:
    """What ``append`` computes from a parsed envelope before any database work must not fail."""
    from ledger.application import _named_subjects
    from ledger.encoding.canonical import canonical, loads_strict

    assert loads_strict(env.canonical_bytes) == env.raw, "canonical bytes do not read back"
    assert canonical(env.raw) == env.canonical_bytes
    env.signing_bytes.decode("utf-8")
    _ = env.business_date
    list(_named_subjects(env))
    for path, value in _paths(env.raw):
        if path and isinstance(path[-1], str) and _ASCII_DATE_FIELDS.match(path[-1]):
            for item in value if isinstance(value, list) else [value]:
                if not (isinstance(item, str) and item.isascii()):
                    raise Crash(f"accepted a non-ASCII date in {'.'.join(map(str, path))}: {item!r}")
