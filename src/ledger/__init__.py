"""The signed ledger core: envelopes, domain, transparency log, storage (no web, no projections)."""
