"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test.

PostgreSQL runs on 127.0.0.1:5432 on these machines. With ``CI=true`` an unreachable server is
a failure, not a skip; locally the PostgreSQL cases skip with the reason.

The ledgers that ``support.cli.make_ledger`` builds with the CLI are built once per run, under
the run's temporary folder (shared by pytest-xdist's workers), and copied; the controlling
process drops their PostgreSQL templates at the end.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import cli  # noqa: E402  (tests/ is on sys.path just above)
from support.pg import pg_database  # noqa: E402

# The files that take longest, heaviest first (their share of a loaded 2-core run, 2026-12-02: each
# one to four minutes there). With ``--dist loadfile --no-loadscope-reorder`` pytest-xdist hands out
# whole files in collection order, so these start first and the many short files fill the end
# evenly; by default it would sort files by their number of tests and start a one-test file of
# minutes (demo, schemathesis) last, with the other worker idle meanwhile.
HEAVY_FIRST = (
    "tests/integration/test_faults_kill.py",
    "tests/e2e/test_http_trace_report_reconcile.py",
    "tests/e2e/test_http_client.py",
    "tests/e2e/test_cli_reconcile.py",
    "tests/e2e/test_cli_faults.py",
    "tests/integration/test_detection_quality.py",
    "tests/e2e/test_cli_core.py",
    "tests/e2e/test_cli_anomalies.py",
    "tests/e2e/test_cli_projections.py",
    "tests/e2e/test_http_evidence.py",
    "tests/integration/test_report_monthly.py",
    "tests/integration/test_projections_property.py",
    "tests/e2e/test_http_schemathesis.py",
    "tests/e2e/test_demo.py",
    "tests/e2e/test_cli_simulate_order.py",
    "tests/integration/test_projections_crash.py",
    "tests/e2e/test_http_api.py",
    "tests/e2e/test_cli_projection_integrity.py",
    "tests/e2e/test_golden_demo.py",
    "tests/e2e/test_cli_log.py",
    "tests/e2e/test_http_personal.py",
    "tests/e2e/test_report_browser.py",
    "tests/e2e/test_web*.py",  # the pages in chromium
    "tests/integration/test_rule_order_property.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of :data:`HEAVY_FIRST` first, in its order; the others after, as collected."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next(
            (n for n, pattern in enumerate(HEAVY_FIRST) if fnmatch.fnmatch(path, pattern)), len(HEAVY_FIRST)
        )

    items.sort(key=rank)  # stable: each file's tests stay together and in their order


def _templates_folder(config: pytest.Config) -> Path:
    """The run's folder for built-once ledgers: a worker's temporary folder is in its controller's."""
    basetemp: Path = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    return (basetemp.parent if hasattr(config, "workerinput") else basetemp) / "ledger-templates"


@pytest.fixture(scope="session", autouse=True)
def _ledger_templates(pytestconfig: pytest.Config) -> None:
    cli.TEMPLATES = _templates_folder(pytestconfig)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput") and (_templates_folder(session.config)).exists():
        cli.drop_template_databases(_templates_folder(session.config))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    with pg_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"
