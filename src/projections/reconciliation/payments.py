"""A finance bureau's payments as a reconciliation reads them: from ``pj_payments``, as of a leaf.

``PaymentDisbursed`` rows the bureau signed (of the named funds), with ``seq`` at most the leaf;
a payment counts as returned when its ``PaymentReturned`` is at most that leaf too (DESIGN §5:
``--as-of SEQ`` includes leaves 0..SEQ).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from ledger.application import iter_chunks
from projections import tables as T
from projections.reconciliation.matching import Payment

_CHUNK: Final = 500  # references per query: far below every backend's limit on bound parameters


class BureauPayments:
    """The :class:`~projections.reconciliation.matching.PaymentBook` of one bureau on the projections."""

    def __init__(self, conn: Connection, actor: str, funds: Sequence[str] | None, last: int | None) -> None:
        self.conn, self.last = conn, last
        p = T.payments.c
        self.where = [p.actor == actor, p.seq <= (-1 if last is None else last)]
        if funds is not None:
            self.where.append(p.fund_id.in_(list(funds)))

    def dated(self, start: dt.date, end: dt.date) -> Iterator[Payment]:
        p = T.payments.c
        query = sa.select(T.payments).where(*self.where, p.value_date.between(start.isoformat(), end.isoformat()))
        yield from map(self._payment, self.conn.execute(query.order_by(p.value_date, p.payment_id)).mappings())

    def with_references(self, references: Collection[str]) -> Iterator[Payment]:
        p = T.payments.c
        for chunk in iter_chunks(sorted(references), _CHUNK):
            query = sa.select(T.payments).where(*self.where, p.bank_reference.in_(chunk))
            yield from map(self._payment, self.conn.execute(query.order_by(p.payment_id)).mappings())

    def _payment(self, row: RowMapping) -> Payment:
        returned = row["returned_seq"] is not None and self.last is not None and row["returned_seq"] <= self.last
        return Payment(row["payment_id"], row["claim_id"], row["fund_id"], row["amount_fen"], row["payee_account"],
                       row["bank_reference"], dt.date.fromisoformat(row["value_date"]), returned)  # fmt: skip
