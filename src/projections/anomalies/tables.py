"""The anomaly projection's own tables, added to the projections' :data:`metadata` (rebuilt with it).

* ``pj_anomalies`` — one row per flag (RULES.md's object), its current state;
* ``pj_anomaly_history`` — every change of a flag's status or message, with the leaf that made
  it: what ``--as-of`` reads ("status as of that seq");
* ``pj_anomaly_evidence`` — every change of a flag's evidence: a seq cited (``cited``) or no longer
  cited (a re-judgement that no longer needs it) at leaf ``changed_seq``. Evidence as of N = the
  seqs whose latest change at or before N cites them. A log of changes, not rows updated in place,
  so a seq may be cited, dropped and cited again, and a replay (``rebuild --anomalies``) only appends;
* ``pj_rule_state`` — the rules' own indexes (a class's inspections, a labourer's attendance
  days, a claim's lines…) and, per subject, which parts of the log currently support which flag.
  Keyed by one column ``"space/id"`` so every lookup on the hot path is by primary key, prefetched
  per batch, and a rule never scans history. (One column on purpose: SQLite answers a row-value
  ``(a, b) IN (VALUES …)`` with a full scan, a single-column ``IN (…)`` with the index.)
"""

from __future__ import annotations

import sqlalchemy as sa

from projections.tables import _bool, _int, _json, _key, _table, _text

anomalies = _table(
    "pj_anomalies",
    _key("id"),
    _text("rule", nullable=False),
    _text("severity", nullable=False),
    _text("subject_kind", nullable=False),
    _text("subject_id", nullable=False),
    _text("laborer_id"),
    _text("jurisdiction"),
    _json("evidence", nullable=False),           # sorted seqs: what the supporting parts cite now
    _int("first_seq", nullable=False),           # the leaf that first raised it
    _int("raised_seq", nullable=False),          # the leaf that (last) completed the evidence
    _int("withdrawn_seq"),                       # the leaf that cured it (None while it holds)
    _bool("active", nullable=False),             # the rule's condition holds now
    _text("status", nullable=False),             # open | withdrawn | confirmed | rectified | false_positive
    _int("disposed_seq"),                        # the latest AnomalyDisposed
    _text("message", nullable=False),
    _text("message_en", nullable=False),
    _text("source", nullable=False),
    _int("updated_seq", nullable=False),
    sa.Index("pj_anomalies_rule", "rule"),
    sa.Index("pj_anomalies_subject", "subject_kind", "subject_id"),
)  # fmt: skip

history = _table(
    "pj_anomaly_history",
    _key("anomaly_id"),
    _key("seq", sa.BigInteger),
    _key("n", sa.Integer),                       # several changes at one leaf keep their order
    _text("change", nullable=False),             # raised | withdrawn | reraised | disposed | message
    _text("status", nullable=False),
    _int("raised_seq", nullable=False),
    _int("withdrawn_seq"),
    _text("jurisdiction"),
    _text("message", nullable=False),
    _text("message_en", nullable=False),
    _text("note"),                               # the disposition's note
    _text("actor"),                              # who disposed it
)  # fmt: skip

evidence = _table(
    "pj_anomaly_evidence",
    _key("anomaly_id"),
    _key("seq", sa.BigInteger),                  # the seq cited or dropped
    _key("changed_seq", sa.BigInteger),          # the leaf that cited or dropped it
    _bool("cited", nullable=False),              # true: cited from changed_seq on; false: dropped
)  # fmt: skip

state = _table(
    "pj_rule_state",
    _key("key"),                                 # "space/id": one column, so IN (…) lookups use the key
    _json("value", nullable=False),
)  # fmt: skip

__all__ = ["anomalies", "history", "evidence", "state"]
