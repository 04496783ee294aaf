"""An independent C2SP ``tlog-tiles`` client, written from the specs alone for the tests.

It imports nothing of the ledger: paths, partial widths, hashes (RFC 6962 §2.1), the checkpoint
(tlog-checkpoint), its Ed25519 signature (signed-note) and RFC 9162 §2.1.3.2 verification are
all done here again, so a test that passes compares two implementations of the same texts.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

Fetch = Callable[[str], bytes]  # a path under the log's prefix ("checkpoint", "tile/0/000") → its bytes


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tile_path(level: int | str, index: int, width: int = 256) -> str:
    """``tile/<L>/<N>[.p/<W>]`` with N in groups of three digits, all but the last behind an ``x``."""
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    n = "/".join([*("x" + g for g in groups[:-1]), groups[-1]])
    return f"tile/{level}/{n}" + ("" if width == 256 else f".p/{width}")


def tiles_for(size: int) -> list[str]:
    """Every hash tile and entry bundle path of a tree of ``size`` leaves (tlog-tiles "Partial Tiles")."""
    out, level = [], 0
    while size >> (8 * level):
        count = size >> (8 * level)
        full, width = divmod(count, 256)
        out += [tile_path(level, n) for n in range(full)] + ([tile_path(level, full, width)] if width else [])
        if level == 0:
            out += [tile_path("entries", n) for n in range(full)] + ([tile_path("entries", full, width)] if width else [])
        level += 1
    return out


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    signers: tuple[str, ...]  # names of every signature line


def parse_checkpoint(note: bytes, verifier_key: str) -> Checkpoint:
    """A signed note whose body is ``origin\\nsize\\nbase64(root)\\n``, signed by ``verifier_key``
    (``name+hexid+base64(0x01||key)``): the signature is checked, or AssertionError."""
    text = note.decode("utf-8")
    body, sep, signatures = text.partition("\n\n")
    assert sep, "a signed note has a blank line before its signatures"
    body += "\n"
    origin, size, root = body.splitlines()[:3]
    name, hexid, blob = verifier_key.split("+", 2)
    raw = base64.b64decode(blob)
    assert raw[0] == 1 and len(raw) == 33
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert key_id.hex() == hexid
    signers, verified = [], False
    for line in signatures.splitlines():
        assert line.startswith("— "), line
        signer, sig = line[2:].split(" ")
        signers.append(signer)
        decoded = base64.b64decode(sig)
        if signer == name and decoded[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(decoded[4:], body.encode())
            verified = True
    assert verified, "no signature line of the operator's key"
    return Checkpoint(origin, int(size), base64.b64decode(root), tuple(signers))


@dataclass
class TiledLog:
    """A log as its tiles show it, at one checkpoint's ``size``."""

    fetch: Fetch
    size: int
    fetched: dict[str, bytes] = field(default_factory=dict)

    def tile(self, level: int, index: int) -> list[bytes]:
        """The hashes of tile ``index`` at ``level``, as wide as the tree of :attr:`size` makes it."""
        count = self.size >> (8 * level)
        width = min(256, count - index * 256)
        assert width > 0, (level, index)
        path = tile_path(level, index, width)
        if path not in self.fetched:
            data = self.fetch(path)
            assert len(data) == 32 * width, (path, len(data))
            self.fetched[path] = data
        data = self.fetched[path]
        return [data[i : i + 32] for i in range(0, len(data), 32)]

    def entries(self, index: int) -> list[bytes]:
        """The leaves of entry bundle ``index`` (big-endian uint16 length, then the bytes)."""
        width = min(256, self.size - index * 256)
        data, out, at = self.fetch(tile_path("entries", index, width)), [], 0
        while at < len(data):
            n = int.from_bytes(data[at : at + 2], "big")
            out.append(data[at + 2 : at + 2 + n])
            at += 2 + n
        assert at == len(data) and len(out) == width
        return out

    def subtree(self, height: int, index: int) -> bytes:
        """MTH(D[index * 2**height : (index + 1) * 2**height]) from the tiles: the hashes of the
        highest tile level that holds it, hashed up the remaining levels inside the tile."""
        level, inner = divmod(height, 8)
        first = index << inner
        hashes = self.tile(level, first // 256)[first % 256 : first % 256 + (1 << inner)]
        assert len(hashes) == 1 << inner
        while len(hashes) > 1:
            hashes = [_node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) (RFC 6962 §2.1), taking every perfect aligned subtree from the tiles."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return self.subtree(n.bit_length() - 1, lo // n)
        k = 1 << ((n - 1).bit_length() - 1)
        return _node(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def root(self) -> bytes:
        return self.mth(0, self.size)

    def inclusion_path(self, index: int) -> list[bytes]:
        """PATH(index, D[0:size]) (RFC 6962 §2.1.1), deepest sibling first."""
        path: list[bytes] = []
        lo, hi = 0, self.size
        while hi - lo > 1:
            k = 1 << ((hi - lo - 1).bit_length() - 1)
            if index < lo + k:
                path.append(self.mth(lo + k, hi))
                hi = lo + k
            else:
                path.append(self.mth(lo, lo + k))
                lo += k
        return path[::-1]


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2, step by step; AssertionError if the path does not lead to ``root``."""
    assert 0 <= index < size
    fn, sn, r = index, size - 1, _leaf(leaf)
    for p in path:
        assert sn != 0, "path too long"
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0 and r == root, "the inclusion path does not lead to the root"


def root_of_leaves(leaves: list[bytes]) -> bytes:
    """MTH of the leaves themselves (RFC 6962 §2.1), without any tile hash."""
    if len(leaves) == 1:
        return _leaf(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _node(root_of_leaves(leaves[:k]), root_of_leaves(leaves[k:]))
