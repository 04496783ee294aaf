"""Trust: the operator's verifier keys, the trust anchor and the witnesses (DESIGN §6 "Trust anchor").

Step 9 of the pass: the largest checkpoint verified before (``trusted.json`` or ``--anchor FILE``)
and each cosigner's last cosigned checkpoint (``cosigned/<actor>.json``) must still be in the log
with the same root; with the anchor's leaf hashes (``*.leaves``), the first rewritten ``seq`` is
named. After an intact pass the anchor moves to the latest checkpoint (:func:`remember`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.encoding.b64 import Base64Invalid, b64decode_strict, b64encode
from ledger.encoding.canonical import JSONObject
from ledger.errors import OperationalError
from ledger.keys.keystore import read_json, write_json
from ledger.translog import merkle
from ledger.translog.note import SIG_TYPE_COSIGNATURE_V1, Verifier, VerifierKeyInvalid, parse_verifier_key
from ledger.translog.verify.errors import TrustAnchorMismatch
from ledger.translog.verify.result import Intact

if TYPE_CHECKING:
    from ledger.keys.keystore import Keystore


TRUSTED_STATE = "trusted.json"


RETIRED_OPERATOR_KEYS = "operator-retired.pub"  # verifier keys the operator signed with before a key change


COSIGNED_DIR = "cosigned"  # cosigned/<actor>.json: the last checkpoint that cosigner signed (ledger.translog.cosign)


_HASH = 32  # bytes per leaf hash in an anchor's leaf-hash file


@dataclass(frozen=True)
class TrustAnchor:
    """The largest checkpoint this verifier has seen verified (``trusted.json``)."""

    origin: str
    size: int
    root: bytes

    @classmethod
    def load(cls, keys: Keystore) -> TrustAnchor | None:
        return cls.load_file(keys.root / TRUSTED_STATE)

    @classmethod
    def load_file(cls, path: Path) -> TrustAnchor | None:
        """The anchor kept in ``path`` (``trusted.json``, ``--anchor FILE``), or None if there is none yet."""
        if not path.exists():
            return None
        return cls.from_state(read_json(path), str(path))

    @classmethod
    def from_state(cls, state: object, where: str) -> TrustAnchor:
        if not isinstance(state, dict):
            raise OperationalError(f"{where} is not a trust anchor")
        try:
            size, root, origin = state["size"], b64decode_strict(state["root"]), state["origin"]
            if type(size) is not int or size < 0 or len(root) != 32 or not isinstance(origin, str):
                raise ValueError
        except (KeyError, TypeError, ValueError, Base64Invalid):
            raise OperationalError(f"{where} is not a trust anchor") from None
        return cls(origin, size, root)

    def as_state(self, note: str | None = None) -> JSONObject:
        state: JSONObject = {"origin": self.origin, "size": self.size, "root": b64encode(self.root)}
        if note is not None:
            state["checkpoint"] = note
        return state

    def save(self, path: Path, note: str | None, leaf_hashes: Path | None = None) -> None:
        """Write the anchor (and move its leaf-hash file into place first), each atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        state = self.as_state(note)
        if leaf_hashes is not None:
            leaf_hashes.replace(leaf_hashes_path(path))
            state["leaf_hashes"] = leaf_hashes_path(path).name
        write_json(path, state)


def leaf_hashes_path(anchor: Path) -> Path:
    """The anchor's leaf-hash file: ``trusted.json`` → ``trusted.leaves`` (32 bytes per leaf, seq order)."""
    return anchor.with_suffix(".leaves")


def load_operator_verifiers(keys: Keystore, operator_key: str | None = None) -> list[Verifier]:
    """The operator's verifier key(s): ``--operator-key`` (a key or a file of keys) or ``operator.pub``.

    Never the database: a verifier that took the key from the ledger it checks would accept any
    history re-signed by whoever rewrote it. Several lines are several trusted keys (an operator
    key change dual-signs one checkpoint, DESIGN §6); each stored checkpoint needs one of them.
    """
    if operator_key is not None:
        try:
            return [parse_verifier_key(operator_key.strip())]
        except VerifierKeyInvalid:
            pass
        path = Path(operator_key)
        if not path.is_file():
            raise OperationalError(f"--operator-key: {operator_key!r} is neither a verifier key nor a file")
    else:
        path = keys.root / "operator.pub"
        if not path.is_file():
            raise OperationalError(f"no operator key: {path} is missing (pass --operator-key)")
        retired = keys.root / RETIRED_OPERATOR_KEYS  # keys before `checkpoint rotate-operator`
        if retired.is_file():
            verifiers = _verifier_file(retired) + _verifier_file(path)
            if len({v.name for v in verifiers}) != 1:
                raise OperationalError(f"{retired} and {path} name different origins")
            return verifiers
    return _verifier_file(path)


def _verifier_file(path: Path) -> list[Verifier]:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read {path}: {exc}") from None
    try:
        verifiers = [parse_verifier_key(line) for line in lines]
    except VerifierKeyInvalid as exc:
        raise OperationalError(f"{path}: {exc}") from None
    if not verifiers:
        raise OperationalError(f"{path} holds no verifier key")
    if len({v.name for v in verifiers}) != 1:
        raise OperationalError(f"{path}: all operator keys must name the same origin")
    return verifiers


def load_witnesses(specs: Sequence[str]) -> list[Verifier]:
    """``--witness KEY``: a C2SP cosigner verifier key (``name+hexid+base64(0x04 || key)``) or a file holding one."""
    witnesses: list[Verifier] = []
    for spec in specs:
        try:
            witness = parse_verifier_key(spec.strip())
        except VerifierKeyInvalid:
            try:
                text = Path(spec).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                raise OperationalError(f"--witness: {spec[:80]!r} is neither a verifier key nor a readable file") from None
            try:
                witness = parse_verifier_key(text)
            except VerifierKeyInvalid as exc:
                raise OperationalError(f"--witness {spec}: {exc}") from None
        if witness.signature_type != SIG_TYPE_COSIGNATURE_V1:
            raise OperationalError(f"--witness {spec}: not a tlog-cosignature/v1 key (type 0x04)")
        witnesses.append(witness)
    return witnesses


def anchor_lost(who: str | None, anchor: TrustAnchor, what: str, verdict: str, seq: int | None = None) -> TrustAnchorMismatch:
    whose = "the checkpoint this verifier trusted before" if who is None else f"the checkpoint cosigner {who} saved"
    return TrustAnchorMismatch(f"{what} {whose} (size {anchor.size}): {verdict}", seq=seq, checkpoint=anchor.size)


class LeafMonitor:
    """Compares each leaf hash with the one this verifier saw under its anchor, and records the new ones.

    The anchor's leaf-hash file (32 bytes per leaf, ``seq`` order) lets a rewrite be named by its
    first changed ``seq``, not only by the checkpoint whose root moved. The file is read a chunk
    at a time and proven against the anchor's root (RFC 9162 tree) before it accuses a leaf, so
    a damaged file is an operational error, never a false "rewritten at seq k".
    """

    _CHUNK = 4096  # leaf hashes read at a time

    def __init__(self, anchor: TrustAnchor | None, known: Path | None, record: Path | None):
        self.anchor = anchor
        self.known = None
        self.count = 0
        if anchor is not None and known is not None and known.is_file():
            if known.stat().st_size != anchor.size * _HASH:
                raise OperationalError(f"{known} does not hold the {anchor.size} leaf hashes of its trust anchor")
            self.known = known.open("rb")
            self.count = anchor.size
        self.buffer = b""
        self.buffer_start = 0
        self.record_path = record
        self.record = None if record is None else record.open("wb")
        self.compared = 0

    def see(self, seq: int, leaf_hash: bytes) -> None:
        if self.record is not None:
            self.record.write(leaf_hash)
        if seq >= self.count or self.known is None:
            return
        offset = seq - self.buffer_start
        if not 0 <= offset * _HASH < len(self.buffer):
            self.known.seek(seq * _HASH)
            self.buffer, self.buffer_start, offset = self.known.read(self._CHUNK * _HASH), seq, 0
        seen = self.buffer[offset * _HASH : (offset + 1) * _HASH]
        self.compared += 1
        if seen != leaf_hash:
            self._prove_known()
            assert self.anchor is not None
            raise TrustAnchorMismatch(
                f"leaf {seq} differs from the leaf this verifier saw under its trusted checkpoint"
                f" {self.anchor.size}: history was rewritten from seq {seq}", seq=seq, checkpoint=self.anchor.size,
            )  # fmt: skip

    def _prove_known(self) -> None:
        assert self.known is not None and self.anchor is not None
        self.known.seek(0)
        frontier = merkle.CompactRange()
        while chunk := self.known.read(self._CHUNK * _HASH):
            for i in range(0, len(chunk), _HASH):
                frontier.append(chunk[i : i + _HASH])
        if frontier.root() != self.anchor.root:
            raise OperationalError(f"{self.known.name} does not hash to its trust anchor's root: it was damaged")

    def close(self, keep: int | None = None) -> Path | None:
        """Close both files; return the recorded file cut to ``keep`` leaves (None: discard it)."""
        if self.known is not None:
            self.known.close()
        if self.record is None or self.record_path is None:
            return None
        self.record.close()
        if keep is None:
            self.record_path.unlink(missing_ok=True)
            return None
        os.truncate(self.record_path, keep * _HASH)
        return self.record_path


@dataclass(frozen=True)
class Trust:
    """Where one verification's trust comes from (DESIGN §6 "Trust anchor"; docs/security.md).

    ``tofu`` (trust on first use): no anchor file yet, no ``--operator-key`` and no ``--witness``
    — the operator key and every checkpoint then come from the operator's own keystore and
    database, so a history the operator rewrote and re-signed would verify too.
    """

    verifiers: list[Verifier]
    operator_key_given: bool
    anchor_path: Path
    anchor: TrustAnchor | None
    witnesses: list[Verifier]
    cosigned: list[tuple[str, TrustAnchor]]

    @property
    def tofu(self) -> bool:
        return self.anchor is None and not self.operator_key_given and not self.witnesses

    def as_json(self, anchor_written: bool) -> JSONObject:
        return {
            "tofu": self.tofu,
            "anchor": str(self.anchor_path),
            "anchor_written": anchor_written,
            "operator_key": "given" if self.operator_key_given else "keystore",
            "required_witnesses": [w.name for w in self.witnesses],
        }


def load_trust(
    keys: Keystore, operator_key: str | None = None, anchor_file: str | Path | None = None,
    witnesses: Sequence[str] = (),
) -> Trust:  # fmt: skip
    """Gather what this verifier trusts: operator key(s), its anchor, cosigners' saved checkpoints, witnesses."""
    verifiers = load_operator_verifiers(keys, operator_key)
    path = Path(anchor_file) if anchor_file is not None else keys.root / TRUSTED_STATE
    if path.is_dir():
        raise OperationalError(f"--anchor {path} is a folder, not a file")
    return Trust(verifiers, operator_key is not None, path, TrustAnchor.load_file(path), load_witnesses(witnesses),
                 _cosigned_anchors(keys, verifiers[0].name))  # fmt: skip


def _cosigned_anchors(keys: Keystore, origin: str) -> list[tuple[str, TrustAnchor]]:
    """``cosigned/<actor>.json``: what each cosigner witnessed; the log must still contain it."""
    folder = keys.root / COSIGNED_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        anchor = TrustAnchor.from_state(read_json(path), str(path))
        if anchor.origin == origin:  # a keystore may witness other logs too
            found.append((path.stem, anchor))
    return found


def recording_path(anchor: Path) -> Path:
    anchor.parent.mkdir(parents=True, exist_ok=True)
    return leaf_hashes_path(anchor).with_name(leaf_hashes_path(anchor).name + f".{os.getpid()}.tmp")


def remember(keys: Keystore, intact: Intact, origin: str, path: Path | None = None) -> bool:
    """Keep the largest verified checkpoint as the anchor (DESIGN §6 "Trust anchor"); True if written.

    ``path`` defaults to the keystore's ``trusted.json``. The leaf hashes recorded by the pass
    (``intact.leaf_hashes_file``) go beside it, so a later rewrite is named by its first seq; an
    anchor of the same size gets them too if it had none.
    """
    path = keys.root / TRUSTED_STATE if path is None else path
    if intact.latest_checkpoint is None or intact.latest_root is None:
        return False
    hashes = intact.leaf_hashes_file
    if intact.trusted_size is not None and intact.trusted_size >= intact.latest_checkpoint:
        if intact.trusted_size == intact.latest_checkpoint and hashes is not None and not leaf_hashes_path(path).exists():
            hashes.replace(leaf_hashes_path(path))
            intact.leaf_hashes_file = None
        return False
    anchor = TrustAnchor(origin, intact.latest_checkpoint, intact.latest_root)
    anchor.save(path, intact.latest_note, hashes)
    intact.leaf_hashes_file = None
    return True
