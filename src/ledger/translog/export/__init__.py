"""导出 / 证据包: exports that anyone can check with openssl and sha256sum (DESIGN §6 "Exports").

A folder holds:

* ``entries.jsonl`` — the exact bytes of each exported leaf, one per LF-terminated line, in
  ``seq`` order: the whole log under the checkpoint (``export log``) or a subset (evidence);
* ``checkpoint`` — the operator-signed C2SP checkpoint note (with any cosignatures);
* ``operator.pub`` — the operator's C2SP verifier key, copied from the keystore;
* ``proofs.json`` — partial exports only: ``{"size": N, "inclusion": {"<seq>": [base64…]}}``,
  N the checkpoint's size, one line per leaf so a shell can pick a proof out with ``grep``;
* ``VERIFY.md`` — how to check it all by hand (Chinese, then English).

Before anything is written, the export checks itself: the checkpoint verifies with the
keystore's operator key, the exported log hashes to the checkpoint's root, and every inclusion
proof leads from its leaf to that root. An export of a ledger that is not intact fails with
:class:`~ledger.errors.VerificationFailed` instead of shipping unverifiable evidence.

The package: :mod:`.bundle` (the folder and its checkpoint), :mod:`.log` (``export log``),
:mod:`.evidence` (证据包: the leaves ``projections.trace`` selects) and :mod:`.verify_md` (the instructions).
"""

from ledger.translog.export.bundle import Exported
from ledger.translog.export.evidence import export_evidence
from ledger.translog.export.log import export_log
from ledger.translog.export.verify_md import verify_md

__all__ = ["Exported", "export_evidence", "export_log", "verify_md"]
