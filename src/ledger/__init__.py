"""The signed ledger core: envelopes, domain, transparency log, storage (no web, no projections)."""

from collections.abc import Callable
from typing import TypeAlias

Progress: TypeAlias = Callable[[int], None]
"""What long work (import, verify, export, catch-up, simulation) calls with how many more items it
has done; the front end decides how to show it."""
