"""C2SP ``tlog-tiles``: the log's Merkle tree and leaves as static resources (API.md "static read path").

The spec (c2sp.org/tlog-tiles) is exact, and so is this module:

* a **hash tile** ``tile/<L>/<N>[.p/<W>]`` is the concatenation of the Merkle Tree Hashes
  ``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])`` for ``i`` below ``W`` (256 for a
  full tile). Each is a complete aligned subtree of height ``8L``, which is exactly the node the
  ledger stores at ``(level 8L, index N*256 + i)`` (:mod:`ledger.translog.merkle`), so a tile is
  one indexed range read of ``ledger_tree``;
* an **entry bundle** ``tile/entries/<N>[.p/<W>]`` is leaves ``N*256 … N*256+W-1``, each behind its
  length as a big-endian uint16 (a leaf is at most 60 KiB of envelope plus its wrapper, DESIGN §6);
* ``<N>`` is written in zero-padded groups of three digits, all but the last prefixed with ``x``
  (1234067 → ``x001/x234/067``); ``<W>`` is 1–255 and present only on a partial tile.

A tile is served only when every hash or leaf in it lies under the latest signed checkpoint
(:func:`within`), so what the static path shows is what the operator has signed. Full tiles never
change; a partial tile of a given width never changes either, it only stops being the newest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.errors import OperationalError
from ledger.persistence import queries

if TYPE_CHECKING:
    from ledger.application import Ledger

__all__ = ["HEIGHT", "WIDTH", "Tile", "entry_bundle", "hash_tile", "tiles_of", "within"]

HEIGHT = 8
"""Tree levels per tile: a tile's hashes are the leaves of a subtree of height 8."""

WIDTH = 1 << HEIGHT
"""Hashes (or entries) in a full tile: 256, 8,192 bytes of hashes."""

_PATH = re.compile(r"tile/(?:(?P<level>0|[1-9][0-9]?)|entries)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})(?:\.p/(?P<width>[1-9][0-9]{0,2}))?")


def _index_path(index: int) -> str:
    """``x001/x234/067`` for 1234067 (tlog-tiles "<N>")."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index > 0:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


@dataclass(frozen=True)
class Tile:
    """One resource of the hierarchy: a hash tile (``level`` 0–63) or an entry bundle (``level`` None)."""

    level: int | None
    index: int
    width: int = WIDTH

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    @property
    def path(self) -> str:
        """The resource's path under the log's prefix, e.g. ``tile/1/x001/234.p/17``."""
        head = "entries" if self.level is None else str(self.level)
        return f"tile/{head}/{_index_path(self.index)}" + ("" if self.full else f".p/{self.width}")

    @property
    def node_level(self) -> int:
        """The stored Merkle level of this tile's hashes (an entry bundle: the leaves', 0)."""
        return 0 if self.level is None else HEIGHT * self.level

    @property
    def first(self) -> int:
        """Index, at :attr:`node_level`, of the tile's first hash (or an entry bundle's first seq)."""
        return self.index * WIDTH

    @property
    def end(self) -> int:
        """The tree size the tile needs: one past the last leaf its last hash (or entry) covers."""
        return (self.first + self.width) << self.node_level

    @classmethod
    def parse(cls, path: str) -> Tile | None:
        """The tile at ``path`` (``tile/…``), or None unless ``path`` is exactly how the spec writes one."""
        found = _PATH.fullmatch(path)
        if found is None:
            return None
        level = found["level"]
        if level is not None and int(level) > 63:
            return None
        width = int(found["width"]) if found["width"] else WIDTH
        if found["width"] and width >= WIDTH:  # a full tile has no .p/ suffix
            return None
        tile = cls(None if level is None else int(level), int(found["index"].replace("x", "").replace("/", "")), width)
        return tile if tile.path == path else None  # no second spelling of one tile (x000/…)


def within(tile: Tile, size: int) -> bool:
    """Whether every hash or entry of ``tile`` lies in the tree of ``size`` leaves."""
    return tile.end <= size


def tiles_of(size: int) -> list[Tile]:
    """Every tile and entry bundle a tree of ``size`` leaves consists of: per level the full tiles,
    then the partial one of width ``floor(size / 256**L) mod 256`` when that is not 0 (tlog-tiles
    "Partial Tiles"); entry bundles as level 0."""
    out: list[Tile] = []
    level, count = 0, size  # count: complete hashes at this level
    while count > 0:
        full, rest = divmod(count, WIDTH)
        out += [Tile(level, n) for n in range(full)] + ([Tile(level, full, rest)] if rest else [])
        if level == 0:
            out += [Tile(None, n) for n in range(full)] + ([Tile(None, full, rest)] if rest else [])
        level, count = level + 1, full
    return out


def hash_tile(ledger: Ledger, tile: Tile) -> bytes:
    """The tile's hashes, concatenated (one range read of the stored nodes)."""
    if tile.level is None:
        raise ValueError("an entry bundle holds leaves, not hashes: use entry_bundle")
    level, first = tile.node_level, tile.first
    found = queries.tree_nodes_in(ledger.sql, [(level, first, first + tile.width - 1)])
    try:
        return b"".join(found[(level, i)] for i in range(first, first + tile.width))
    except KeyError as missing:
        raise OperationalError(f"Merkle node {missing.args[0]} of {tile.path} is missing (run verify)") from None


def entry_bundle(ledger: Ledger, tile: Tile) -> bytes:
    """The tile's leaves, each behind its length as a big-endian uint16."""
    if tile.level is not None:
        raise ValueError("a hash tile holds hashes, not leaves: use hash_tile")
    rows = queries.leaves_between(ledger.sql, tile.first, tile.first + tile.width, limit=tile.width)
    if [r.seq for r in rows] != list(range(tile.first, tile.first + tile.width)):
        raise OperationalError(f"a leaf of {tile.path} is missing from the store (run verify)")
    out = bytearray()
    for row in rows:
        if len(row.leaf) > 0xFFFF:
            raise OperationalError(f"leaf {row.seq} is longer than an entry bundle can carry")
        out += len(row.leaf).to_bytes(2, "big") + row.leaf
    return bytes(out)
