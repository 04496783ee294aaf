"""``/metrics`` (API.md): Prometheus text from a registry of this application (no module-level state).

Requests by route and status with latency histograms, envelopes by outcome, events appended by
type, refusals by reason, and — read at scrape time — the log's size and the projections' lag.
Labels are route templates and codes, never a token, a path's ids or personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("api.http")


class _LogState(Collector):
    """The log's size and how far the projections trail it, read when scraped."""

    def __init__(self, read: Callable[[], tuple[int, int]]):
        self.read = read

    def collect(self) -> Iterator[Metric]:
        try:
            size, projected = self.read()
        except Exception as exc:  # a scrape must not fail because the database is away: /healthz says so
            log.warning("metrics: cannot read the log state: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily("ledger_log_size", "leaves in the log", value=size)
        yield GaugeMetricFamily("ledger_projection_lag", "leaves not projected yet", value=max(size - projected, 0))


class _Prepares(Collector):
    """Prepared intents still pending, and those that expired without becoming an envelope."""

    def __init__(self, read: Callable[[], tuple[int, int]]):
        self.read = read

    def collect(self) -> Iterator[Metric]:
        try:
            pending, unused = self.read()
        except Exception as exc:  # as _LogState
            log.warning("metrics: cannot read the prepared intents: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily("ledger_prepared_intents_pending", "prepared intents waiting for their envelope", value=pending)
        yield GaugeMetricFamily("ledger_prepared_intents_unused", "prepared intents that expired without becoming an envelope",
                                value=unused)  # fmt: skip


class Metrics:
    def __init__(self, read_log_state: Callable[[], tuple[int, int]], read_prepares: Callable[[], tuple[int, int]] | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("http_requests", "HTTP requests by route and status", ["route", "method", "status"], registry=r)
        self.latency = Histogram("http_request_duration_seconds", "HTTP request latency by route", ["route", "method"],
                                 registry=r, buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))  # fmt: skip
        self.envelopes = Counter("ledger_envelopes", "envelopes posted, by outcome", ["status"], registry=r)
        self.appended = Counter("ledger_events_appended", "events appended through the API, by type", ["type"], registry=r)
        self.refusals = Counter("ledger_refusals", "refused envelopes, by reason", ["reason"], registry=r)
        r.register(_LogState(read_log_state))
        if read_prepares is not None:
            r.register(_Prepares(read_prepares))

    def outcome(self, status: str, event_type: str | None, reason: str | None) -> None:
        self.envelopes.labels(status).inc()
        if status == "accepted" and event_type:
            self.appended.labels(event_type).inc()
        elif status == "refused":
            self.refusals.labels(reason or "refused").inc()
