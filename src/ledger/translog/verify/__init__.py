"""防篡改校验 (verify): prove that the ledger is intact, or name the first place it is not.

DESIGN §6 fixes what "intact" means. One streaming pass over the log (memory stays flat: one
batch of rows, the Merkle frontier and the key registry) checks, leaf by leaf in ``seq`` order:

1. the row's ``seq`` is the next one (gapless ``0..n-1``);
2. the leaf bytes are the RFC 8785 (JCS) form of ``{"seq", "recorded_at", "envelope"}``, with
   the row's ``seq`` and ``recorded_at`` (UTC, microseconds, non-decreasing, never more than
   five minutes before the envelope's ``at``);
3. the stored ``leaf_hash`` is ``SHA-256(0x00 || leaf)`` (RFC 9162 §2.1.1);
4. the envelope parses (:meth:`ledger.domain.envelope.Envelope.from_dict`) and its row columns agree;
5. the domain event in the ``eventsourcing`` table is the one the leaf row names and holds the
   same ``seq``, ``recorded_at`` and envelope, on the aggregate of the envelope's subject;
6. the signature verifies with the key the registry held *at that leaf*: the registry is
   rebuilt from the leaves themselves (``ActorRegistered``, ``KeyRotated``, ``KeyRevoked``),
   so a revocation recorded later never taints earlier leaves (DESIGN §6, "Keys");
7. every stored Merkle node equals the one recomputed from the leaf hashes;
8. every stored checkpoint is signed by a *trusted* operator key (from the keystore or the
   caller, never from the database), its root is the recomputed root at its size, and each is
   consistent with the one before it (RFC 9162 §2.1.4 proof from the stored nodes, verified);
9. the trust anchors — the largest checkpoint verified before (``trusted.json`` or
   ``--anchor FILE``) and each cosigner's last cosigned checkpoint (``cosigned/<actor>.json``) —
   are not beyond the log and have the same root there, so a log cut back or rewritten together
   with its checkpoints is caught; with the anchor's leaf hashes (``*.leaves``), the first
   rewritten ``seq`` is named;
10. an operator key change is accepted only through one checkpoint signed by the old and the
   new key (a ``next-operator-key`` line in its signed body); later checkpoints need the new key.

After the pass: no checkpoint or Merkle node lies beyond the log, there are no domain events
without a leaf, the key index (``ledger_keys``) is what the registry leaves say, every
cosignature by a registered cosigner verifies, and the latest checkpoint carries a valid
cosignature of every witness the caller requires (``--witness``).

Signature checks — the physical limit of this pass (LIMITS.md) — run on every core: worker
processes parse and check whole batches of leaves and verify each signature with the key its
``key_id`` names; the main process keeps the sequential decisions (which key was valid at that
position, the tree, the checkpoints). Verification raises at the first failure (STYLE.md
habit 3) with a :class:`~ledger.errors.VerificationFailed` subclass naming the ``seq`` or the
checkpoint (its tree size).

The package follows the steps: :mod:`.leaves` (1–4, 6: format, hashes, envelope, signature,
per leaf), :mod:`.events` (5: domain events), :mod:`.registry` (6: the key valid at each leaf,
the key index), :mod:`.tree` (7: Merkle nodes), :mod:`.checkpoints` (8, 10: checkpoints,
cosignatures, witnesses), :mod:`.anchor` (9: trust anchors and what a verifier trusts),
:mod:`.stream` (reading the store, worker processes) and :mod:`.log` (the pass itself and the
operation around it). :mod:`.errors` has one error class per failure, :mod:`.result` what an
intact pass covered.
"""

from ledger.translog.verify.anchor import (
    RETIRED_OPERATOR_KEYS,
    Trust,
    TrustAnchor,
    leaf_hashes_path,
    load_operator_verifiers,
    load_trust,
    load_witnesses,
    remember,
)
from ledger.translog.verify.checkpoints import NEXT_OPERATOR_KEY, verify_checkpoint_note
from ledger.translog.verify.errors import (
    CheckpointMismatch,
    EventMismatch,
    KeyIndexMismatch,
    KeyNotValidAt,
    LeafMissing,
    LeafTampered,
    RegistryInvalidAt,
    SignatureInvalidAt,
    TreeMismatch,
    TrustAnchorMismatch,
    WitnessMissing,
)
from ledger.translog.verify.log import run_verify, verify_ledger
from ledger.translog.verify.result import Intact, failure_json

__all__ = [
    "CheckpointMismatch",
    "EventMismatch",
    "Intact",
    "KeyIndexMismatch",
    "KeyNotValidAt",
    "LeafMissing",
    "NEXT_OPERATOR_KEY",
    "RETIRED_OPERATOR_KEYS",
    "LeafTampered",
    "RegistryInvalidAt",
    "SignatureInvalidAt",
    "TreeMismatch",
    "Trust",
    "TrustAnchor",
    "TrustAnchorMismatch",
    "WitnessMissing",
    "failure_json",
    "leaf_hashes_path",
    "load_operator_verifiers",
    "load_trust",
    "load_witnesses",
    "remember",
    "run_verify",
    "verify_checkpoint_note",
    "verify_ledger",
]
