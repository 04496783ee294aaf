"""Progress on stderr for long work (imports, rebuilds, verify, simulations).

On a terminal: a rich progress bar. Elsewhere (CI logs, pipes): a plain line every ~10 %, so a
long run still shows it is alive without filling the log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)
        return
    done = 0
    started = time.monotonic()
    next_report = 0.1

    def advance(n: int) -> None:
        nonlocal done, next_report
        done += n
        if total and done / total >= next_report and time.monotonic() - started > 2:
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)
            while done / total >= next_report:
                next_report += 0.1

    yield advance
