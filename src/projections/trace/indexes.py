"""The indexes a trace needs beyond those its tables were built with (DESIGN §12: "served from
indexes"). Declared here, on the tables they index, so the trace owns them; the runner loads this
module as a plugin (:data:`projections.runner.registry.PLUGINS`), so they are in the metadata,
and in its fingerprint, whenever tables are created or rebuilt.

* ``pj_events(actor, seq)``: ``trace actor`` pages an actor's signed events in seq order;
* ``pj_certificates(class_id)``: a class's certificates;
* ``pj_anomaly_evidence(seq)``: the flags citing a leaf of the trace.
"""

from __future__ import annotations

import sqlalchemy as sa

from projections import tables as T
from projections.anomalies import tables as A

events_by_actor = sa.Index("pj_events_actor", T.events.c.actor, T.events.c.seq)
certificates_by_class = sa.Index("pj_certificates_class", T.certificates.c.class_id)
evidence_by_seq = sa.Index("pj_anomaly_evidence_seq", A.evidence.c.seq)
