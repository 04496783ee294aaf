"""The pass over the whole log (:func:`verify_ledger`) and the operation around it (:func:`run_verify`):
trust anchor in, trust anchor out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ledger import Progress
from ledger.errors import OperationalError, VerificationFailed
from ledger.translog import merkle
from ledger.translog.note import Verifier
from ledger.translog.verify.anchor import (
    LeafMonitor,
    Trust,
    TrustAnchor,
    anchor_lost,
    leaf_hashes_path,
    load_trust,
    recording_path,
    remember,
)
from ledger.translog.verify.checkpoints import CheckpointChecker
from ledger.translog.verify.errors import BY_CODE, LeafMissing, LeafTampered, SignatureInvalidAt
from ledger.translog.verify.events import extra_event
from ledger.translog.verify.leaves import ed25519_ok
from ledger.translog.verify.registry import Registry, key_index_mismatch
from ledger.translog.verify.result import Intact
from ledger.translog.verify.stream import PARALLEL_THRESHOLD, checked_batches
from ledger.translog.verify.tree import check_nodes, nodes_beyond, nodes_completed

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.keys.keystore import Keystore


def verify_ledger(
    ledger: Ledger,
    verifiers: Sequence[Verifier],
    anchor: TrustAnchor | None = None,
    *,
    workers: int | None = None,
    batch: int = 1000,
    progress: Progress | None = None,
    cosigned: Sequence[tuple[str, TrustAnchor]] = (),
    witnesses: Sequence[Verifier] = (),
    known_leaves: Path | None = None,
    record_leaves: Path | None = None,
) -> Intact:
    """Verify the whole ledger; return what was covered, or raise at the first failure.

    ``verifiers`` are the trusted operator keys (never read from the database); ``anchor`` is
    the largest checkpoint verified before (``trusted.json`` or ``--anchor``), ``known_leaves``
    its leaf-hash file; ``cosigned`` are the checkpoints cosigners saved; ``witnesses`` must have
    cosigned the latest checkpoint. ``record_leaves`` receives every leaf hash of the pass (the
    next anchor's leaf-hash file; the caller cuts and keeps it). ``workers`` processes check
    leaves and signatures (default: every core for a log large enough to be worth it; 0: here).
    """
    if not verifiers:
        raise OperationalError("no trusted operator key")
    origin = verifiers[0].name
    if anchor is not None and anchor.origin != origin:
        raise OperationalError(f"the trust anchor is for log {anchor.origin!r}, not {origin!r}")
    monitor = LeafMonitor(anchor, known_leaves, record_leaves)
    try:
        return _verify_pass(ledger, verifiers, anchor, workers, batch, progress, cosigned, witnesses, monitor)
    except BaseException:
        monitor.close(None)
        raise


def _verify_pass(
    ledger: Ledger, verifiers: Sequence[Verifier], anchor: TrustAnchor | None, workers: int | None, batch: int,
    progress: Progress | None, cosigned: Sequence[tuple[str, TrustAnchor]],
    witnesses: Sequence[Verifier], monitor: LeafMonitor,
) -> Intact:  # fmt: skip
    origin = verifiers[0].name
    started = time.perf_counter()
    stop = ledger.size()
    if workers is None:
        workers = (os.cpu_count() or 1) if stop >= PARALLEL_THRESHOLD else 0
    intact = Intact(size=stop, workers=workers, trusted_size=None if anchor is None else anchor.size)
    registry = Registry()
    frontier = merkle.CompactRange()
    checkpoints = CheckpointChecker(ledger, verifiers, origin, anchor, intact, cosigned)
    intact.cosigned_anchors = {who: seen.size for who, seen in cosigned}
    checkpoints.reach(frontier)  # a checkpoint of size 0, if any
    expected = 0
    last_recorded = ""
    for start, end, facts, error in checked_batches(ledger, stop, batch, workers):
        stored_nodes = nodes_completed(ledger, start, end - 1)
        for fact in facts:
            seq = fact.seq
            # 1. Gapless: the next leaf is the next seq.
            if seq != expected:
                raise LeafMissing(f"seq {expected} is missing (the next stored leaf is seq {seq})", seq=expected)
            # 2. recorded_at never decreases along seq (fixed-width UTC: text order is time order).
            if fact.recorded_at < last_recorded:
                raise LeafTampered(f"recorded_at {fact.recorded_at} is earlier than the leaf before it", seq=seq)
            last_recorded = fact.recorded_at
            # 3. The key valid at this position, then the signature with it.
            public_key = registry.signing_key(fact)
            ok = fact.sig_ok
            if ok is None and fact.signed is not None:
                ok = ed25519_ok(public_key, *fact.signed)
            if not ok:
                raise SignatureInvalidAt(f"signature of {fact.actor!r} ({fact.key_id}) does not verify", seq=seq)
            intact.signatures += 1
            registry.apply(fact)
            # The leaf this verifier saw there before, if it kept the anchor's leaf hashes.
            monitor.see(seq, fact.leaf_hash)
            # 4. The Merkle tree: every node this leaf completes is stored, and equal.
            check_nodes(frontier, fact.leaf_hash, stored_nodes, seq)
            expected += 1
            # 5. Checkpoints and the trust anchor of exactly this size.
            checkpoints.reach(frontier)
        if error is not None:
            if error[0] != expected:
                raise LeafMissing(f"seq {expected} is missing (the next stored leaf is seq {error[0]})", seq=expected)
            raise BY_CODE[error[1]](error[2], seq=error[0])
        if expected != end:  # rows at the end of this range are missing
            raise LeafMissing(f"seq {expected} is missing", seq=expected)
        if progress is not None:
            progress(end - start)
    _after_the_pass(ledger, registry, checkpoints, stop)
    intact.cosigners = checkpoints.cosigners(registry)
    intact.witnesses = checkpoints.witnessed(witnesses)
    intact.leaves_compared = monitor.compared
    intact.elapsed = time.perf_counter() - started
    intact.leaf_hashes_file = monitor.close(intact.latest_checkpoint)
    return intact


def _after_the_pass(ledger: Ledger, registry: Registry, checkpoints: CheckpointChecker, stop: int) -> None:
    """Checks that need the whole pass; the failure with the smallest seq is raised."""
    current = ledger.size()
    failures: list[VerificationFailed] = []
    # 1. Nothing signed or trusted lies beyond the log.
    beyond = checkpoints.beyond(current)
    if beyond is not None:
        failures.append(beyond)
    for size, seen_by in checkpoints.anchors.items():
        if size <= stop:
            continue
        for who, anchor in seen_by:
            if size > current:
                failures.append(anchor_lost(
                    who, anchor, f"the log holds {current} leaves, fewer than", "leaves were removed (rolled back)",
                    seq=current,
                ))  # fmt: skip
            elif ledger.root(size) != anchor.root:
                failures.append(anchor_lost(who, anchor, f"the root at size {size} differs from", "history was rewritten"))
    # 2. No Merkle node beyond the log (a truncation that forgot the tree).
    tree = nodes_beyond(ledger)
    if tree is not None:
        failures.append(tree)
    # 3. No domain event without its leaf.
    extra = extra_event(ledger)
    if extra is not None:
        failures.append(extra)
    # 4. The key index is what the registry leaves say.
    mismatch = key_index_mismatch(ledger, registry, stop)
    if mismatch is not None:
        failures.append(mismatch)
    if failures:
        raise min(failures, key=lambda f: (f.seq if f.seq is not None else current, f.checkpoint or 0))


def run_verify(
    ledger: Ledger,
    keys: Keystore,
    operator_key: str | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    update_anchor: bool = True,
    trust: Trust | None = None,
    trust_first_use: bool = False,
) -> Intact:
    """Verify with this verifier's trust (:func:`load_trust`); move its anchor to a larger checkpoint.

    The anchor file is written only when it already exists (then it only ever grows) or when
    the caller asks for trust on first use (``trust_first_use``): never silently from what the
    database says. Its leaf-hash file is rewritten with it.
    """
    trust = load_trust(keys, operator_key) if trust is None else trust
    write = update_anchor and (trust.anchor is not None or trust_first_use)
    intact = verify_ledger(
        ledger, trust.verifiers, trust.anchor, workers=workers, progress=progress, cosigned=trust.cosigned,
        witnesses=trust.witnesses, known_leaves=leaf_hashes_path(trust.anchor_path),
        record_leaves=recording_path(trust.anchor_path) if write else None,
    )  # fmt: skip
    written = False
    if write:
        written = remember(keys, intact, trust.verifiers[0].name, trust.anchor_path)
    if intact.leaf_hashes_file is not None:
        intact.leaf_hashes_file.unlink(missing_ok=True)
        intact.leaf_hashes_file = None
    intact.trust = trust.as_json(written)
    return intact
