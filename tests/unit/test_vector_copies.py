"""The repository's copy of the vectors is byte-identical to the team's shared copy."""

from __future__ import annotations

import pytest

from vector_files import COPY, SHARED


@pytest.mark.parametrize("name", ["rfc6962_vectors.json", "signed_note_vectors.json"])
def test_copy_matches_shared(name: str) -> None:
    assert (COPY / name).is_file()
    if not (SHARED / name).is_file():
        pytest.skip("shared/vectors is not beside this checkout")
    assert (COPY / name).read_bytes() == (SHARED / name).read_bytes()
