"""``merkle.inclusion_proofs``: many audit paths in one fetch are each exactly RFC 9162's path."""

from __future__ import annotations

import random

import pytest

from ledger.translog import merkle


@pytest.mark.parametrize("size", [1, 2, 7, 64, 1000])
def test_many_paths_at_once_equal_one_at_a_time_and_verify(size: int) -> None:
    store = merkle.MemoryNodeStore.from_leaves(f"leaf {i}".encode() for i in range(size))
    indices = sorted(random.Random(size).sample(range(size), min(size, 40)))
    fetches: list[int] = []

    def get_many(keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        fetches.append(len(keys))
        return store.get_many(keys)

    paths = merkle.inclusion_proofs(indices, size, get_many)  # type: ignore[arg-type]
    assert len(fetches) <= 1 and list(paths) == indices  # one fetch (none for a one-leaf tree)
    root = store.root_at(size)
    for index in indices:
        assert paths[index] == store.inclusion_proof(index, size)
        merkle.verify_inclusion(merkle.leaf_hash(f"leaf {index}".encode()), index, size, paths[index], root)


def test_a_missing_node_is_a_key_error() -> None:
    store = merkle.MemoryNodeStore.from_leaves(b"%d" % i for i in range(16))
    with pytest.raises(KeyError):
        merkle.inclusion_proofs([3, 9], 16, lambda keys: {k: v for k, v in store.get_many(keys).items() if k != (0, 2)})
