"""C2SP tlog-tiles geometry and paths (ledger.translog.tiles), against the spec's own examples."""

from __future__ import annotations

import pytest

from ledger.translog.tiles import Tile, tiles_of, within
from support.tlog_tiles import tiles_for


def test_index_paths_are_the_specs() -> None:
    tile = Tile(0, 1234067)
    assert tile.path == "tile/0/x001/x234/067"
    assert Tile.parse("tile/0/x001/x234/067") == tile
    assert Tile(3, 5, 45).path == "tile/3/005.p/45"
    assert Tile(None, 1000, 1).path == "tile/entries/x001/000.p/1"
    assert Tile.parse("tile/entries/x001/000.p/1") == Tile(None, 1000, 1)


@pytest.mark.parametrize("path", ["tile/0/0", "tile/0/x000/001", "tile/0/001.p/256", "tile/0/001.p/0", "tile/0/001.p/07",
                                  "tile/64/000", "tile/01/000", "tile/-1/000", "tile/0/001/", "tile/0/x001", "tile/entries/000.p",
                                  "tile/entries", "tile/0/001.p/45/", "tiles/0/000"])  # fmt: skip
def test_no_other_spelling_is_a_tile(path: str) -> None:
    assert Tile.parse(path) is None


def test_a_tree_of_70000_is_the_specs_example() -> None:
    """273 full level-0 tiles, a partial one of width 112, one full level-1 tile, a partial one of
    width 17 and a partial level-2 tile of width 1 (tlog-tiles "Partial Tiles")."""
    hashes = [t for t in tiles_of(70_000) if t.level is not None]
    assert [t for t in hashes if t.level == 0 and t.full] == [Tile(0, n) for n in range(273)]
    assert [t for t in hashes if not t.full] == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert [t for t in hashes if t.level == 1 and t.full] == [Tile(1, 0)]
    assert {t.path for t in tiles_of(70_000)} == set(tiles_for(70_000))  # the tests' independent client agrees
    assert [t.path for t in tiles_of(256) if t.level is not None] == ["tile/0/000", "tile/1/000.p/1"]


def test_a_tile_is_within_a_tree_only_when_all_it_covers_is() -> None:
    assert within(Tile(0, 0), 256) and not within(Tile(0, 0), 255)
    assert within(Tile(1, 0, 2), 512) and not within(Tile(1, 0, 2), 511)
    assert within(Tile(None, 1, 10), 266) and not within(Tile(None, 1, 10), 265)
    assert within(Tile(2, 0, 1), 65_536) and not within(Tile(1, 0), 65_535)
