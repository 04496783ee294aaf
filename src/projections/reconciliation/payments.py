"""A finance bureau's payments as a reconciliation reads them: from ``pj_payments``, as of a leaf.

``PaymentDisbursed`` rows the bureau signed (of the named funds), with ``seq`` at most the leaf;
a payment counts as returned when its ``PaymentReturned`` is at most that leaf too (DESIGN §5:
``--as-of SEQ`` includes leaves 0..SEQ).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.application import iter_chunks
from projections import tables as T
from projections.reconciliation.matching import Payment

_p = T.payments.c
_CHUNK: Final = 500  # references per query: far below every backend's limit on bound parameters


class BureauPayments:
    """The :class:`~projections.reconciliation.matching.PaymentBook` of one bureau on the projections."""

    def __init__(self, conn: Connection, actor: str, funds: Sequence[str] | None, last: int | None) -> None:
        self.conn, self.last = conn, last
        self.where = [_p.actor == actor, _p.seq <= (-1 if last is None else last)]
        if funds is not None:
            self.where.append(_p.fund_id.in_(list(funds)))

    def dated(self, start: dt.date, end: dt.date) -> Iterator[Payment]:
        query = self._select().where(_p.value_date.between(start.isoformat(), end.isoformat()))
        return self._payments(query.order_by(_p.value_date, _p.payment_id))

    def with_references(self, references: Collection[str]) -> Iterator[Payment]:
        for chunk in iter_chunks(sorted(references), _CHUNK):
            yield from self._payments(self._select().where(_p.bank_reference.in_(chunk)).order_by(_p.payment_id))

    def _select(self) -> sa.Select[Any]:
        return sa.select(_p.payment_id, _p.claim_id, _p.fund_id, _p.amount_fen, _p.payee_account, _p.bank_reference,
                         _p.value_date, _p.returned_seq).where(*self.where)  # fmt: skip

    def _payments(self, query: sa.Select[Any]) -> Iterator[Payment]:
        last = -1 if self.last is None else self.last
        date = dt.date.fromisoformat
        for pid, claim, fund, fen, payee, reference, day, returned in self.conn.execute(query):
            yield Payment(pid, claim, fund, fen, payee, reference, date(day), returned is not None and returned <= last)
