"""追溯 (``trace KIND ID``, DESIGN §12): everything behind one payment, claim, class, labourer,
certificate, fund or actor, served from the projections' indexes — never a read of the whole log.

* :mod:`.gather` — which leaves a trace holds, and each one's ``relation`` (docs/trace.md);
* :mod:`.check` — each leaf's signature re-verified and its inclusion proved against a checkpoint;
* :mod:`.query` — the trace document (DESIGN §12's JSON) and the seqs an evidence bundle exports.

Importing the package adds the trace's indexes to the projections' metadata (:mod:`.indexes`);
the runner loads it as a plugin, so they exist wherever the tables do.
"""

from projections.trace import indexes as _indexes  # noqa: F401  (adds the trace's indexes to the metadata)
