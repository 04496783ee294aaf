"""Where the RFC 6962 / C2SP vectors are: ``../shared/vectors`` beside the checkout, else the copy."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "vectors"
COPY = REPO / "tests" / "vectors"


def vectors_dir() -> Path:
    return SHARED if (SHARED / "rfc6962_vectors.json").is_file() else COPY
