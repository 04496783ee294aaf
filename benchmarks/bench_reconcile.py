"""Benchmark: reconciling a bank statement (DESIGN §10, issue 14) against reading it as bare CSV.

    .venv/bin/python benchmarks/bench_reconcile.py                          # 10k and 100k lines, SQLite
    .venv/bin/python benchmarks/bench_reconcile.py --lines 300 --backend both --json

For each size N, a ledger in which one county's finance bureau made N payments in March 2020 (each
of one living-allowance claim of its own labourer, from one fund), every event signed with real
keys and appended through ``Ledger.append``, then projected (the anomaly rules included); built
once and reused (``common.py``), its projections brought up to date before each measurement (a
change of the projection tables since the build means a rebuild, which is not what is measured). Beside it, the GBK CSV statement the bank would export for the
month: a preamble, Chinese headers, amounts with ``,`` thousands, a 合计 row, and N lines — one per
payment except every 500th, which is money out with no payment in the ledger (so N/500 payments stay
``unmatched_ledger``); every 1000th line carries no reference (matched by amount, payee and date).

Then, in a fresh child process per size (so peak RSS is that run's own):
1. parse-only: the file decoded as GB18030 and split by ``csv.reader`` — the floor of any reader;
2. read: :func:`projections.reconciliation.statement.read_statement` alone (typed lines);
3. whole: ``services.reconcile`` — read, fingerprint each account with the pepper, load the
   candidates from ``pj_payments``, match (DESIGN §10 steps 1–4), build the result — and its
   ``--json`` bytes (JCS), measured first in the child so that its peak RSS is the run's own;
and prints lines/s of each (1 and 2 best of 3), ``ratio`` = whole ÷ parse-only (target ≥ 0.3),
``ratio_by_cpu`` the same by CPU seconds (the machine is shared), and the peak RSS.
Not a timed test.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import backends, bench_ledger  # noqa: E402

COUNTY = "640402"
FIN, INST, POV = f"fin-{COUNTY}", f"inst-{COUNTY}", f"pov-{COUNTY}"
FUND = f"F-2020-{COUNTY}-living_allowance"
PERIOD = "2020-03"
PER_CLASS = 50
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MARCH_WORKING_DAYS = [dt.date(2020, 3, d) for d in range(2, 32) if dt.date(2020, 3, d).weekday() < 5]
TARGET = 0.3


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", nargs="+", type=int, default=[10_000, 100_000],
                        help="statement lines (and ledger payments) per run")  # fmt: skip
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_reconcile"))
    parser.add_argument("--json", action="store_true", help="JSON on stdout; the human report goes to stderr")
    parser.add_argument(
        "--child", nargs=4, metavar=("DB", "KEYS", "STATEMENT", "LINES"), help=argparse.SUPPRESS
    )
    return parser


# --- the ledger and its statement ------------------------------------------------------------------
def at(day: dt.date, hour: int = 10) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI).isoformat()


def account(k: int) -> str:
    return f"6228480{k:012d}"


def amount_fen(k: int) -> int:
    return 30000 + (k % 50) * 100


def value_date(k: int) -> dt.date:
    return MARCH_WORKING_DAYS[k % len(MARCH_WORKING_DAYS)]


def intents(n: int, payee: Any) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``(actor, type, at, body)`` in log order: the fund, classes, labourers, claims, payments."""
    yield (FIN, "FundAllocated", at(dt.date(2020, 1, 2)), {
        "fund_id": FUND, "jurisdiction": COUNTY, "source": "central", "purpose": "living_allowance",
        "year": 2020, "amount_fen": 9_000_000_000_00})  # fmt: skip
    for c in range((n + PER_CLASS - 1) // PER_CLASS):
        yield (INST, "ClassOpeningRequested", at(dt.date(2020, 1, 6)), {
            "class_id": f"C-{c:06d}", "programme": "employment_skill", "occupation": "中式烹调", "in_catalog": True,
            "jurisdiction": COUNTY, "site": "实训楼", "planned_start": "2020-01-13", "planned_end": "2020-02-07",
            "capacity": PER_CLASS, "hours_per_day": 8, "practical_percent": 70, "subsidy_per_trainee_fen": 150000})  # fmt: skip
    for k in range(n):
        yield (POV, "LaborerRegistered", at(dt.date(2020, 1, 3)), {
            "laborer_id": f"L-{k:07d}", "household_id": f"H-{k:07d}", "jurisdiction": COUNTY, "township": "吉强镇",
            "village": "龙王坝村", "birth_date": "1980-05-12", "gender": "female", "category": "poor",
            "id_fingerprint": f"{k:064x}", "pii_commitment": f"{k + 1:064x}"})  # fmt: skip
    for k in range(n):
        yield (INST, "SubsidyClaimed", at(dt.date(2020, 2, 20)), {
            "claim_id": f"LA-{k:07d}", "kind": "living_allowance", "class_id": f"C-{k // PER_CLASS:06d}",
            "lines": [{"laborer_id": f"L-{k:07d}", "amount_fen": amount_fen(k)}], "payee_account": payee(account(k)),
            "total_fen": amount_fen(k)})  # fmt: skip
    for k in sorted(range(n), key=lambda k: (value_date(k), k)):
        yield (FIN, "PaymentDisbursed", at(value_date(k)), {
            "payment_id": f"P-{k:07d}", "claim_id": f"LA-{k:07d}", "fund_id": FUND, "amount_fen": amount_fen(k),
            "payee_account": payee(account(k)), "bank_reference": f"NX{k:010d}", "value_date": value_date(k).isoformat()})  # fmt: skip


def build(url: str, keys: Path, n: int) -> int:
    from api.services import catch_up
    from ledger.application import Item
    from ledger.domain.envelope import Envelope, sign_envelope
    from ledger.service import Session

    session = Session.open(url, keys)
    session.checkpoint_interval = 3600
    session.init()
    for actor_id, role, name in ((FIN, "finance_bureau", "原州区财政局"), (INST, "institution", "原州区培训机构"),
                                 (POV, "poverty_office", "原州区扶贫办")):  # fmt: skip
        session.add_actor(actor_id, role, COUNTY, name)
    signing = {actor: session.keys.actor_key(actor) for actor in (FIN, INST, POV)}
    batch: list[Item] = []
    started = time.perf_counter()
    for count, (actor, kind, when, body) in enumerate(intents(n, session.payee_fingerprints()), 1):
        envelope = {"type": kind, "actor": actor, "at": when, "nonce": f"recon-{count:09d}", "body": body}
        batch.append(Item(Envelope.from_dict(sign_envelope(envelope, signing[actor]))))
        if len(batch) == 1000:
            outcomes = session.ledger.append(batch)
            assert all(o.status == "accepted" for o in outcomes), [
                o for o in outcomes if o.status != "accepted"
            ][:1]
            batch = []
            if count % 50_000 == 0:
                print(
                    f"  built {count} events ({count / (time.perf_counter() - started):,.0f}/s)",
                    file=sys.stderr,
                )
    if batch:
        assert all(o.status == "accepted" for o in session.ledger.append(batch))
    session.checkpoint()
    print(f"  projecting {session.ledger.size()} leaves", file=sys.stderr, flush=True)
    catch_up(session.ledger)
    size = int(session.ledger.size())
    session.close()
    return size


def caught_up(url: str, keys: Path) -> None:
    """Project what is not projected yet — everything, when a projection table changed since the
    ledger was built — so that the measured run finds the projections current, as a bureau would."""
    from api.services import catch_up
    from ledger.service import Session

    session = Session.open(url, keys)
    started = time.perf_counter()
    catch_up(session.ledger)
    if time.perf_counter() - started > 5:
        print(
            f"  projections caught up in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True
        )
    session.close()


def write_statement(path: Path, n: int) -> None:
    """The month's statement as a bank exports it: GBK, preamble, Chinese headers, 合计."""
    debit = 0
    with path.open("w", encoding="gbk", newline="") as file:
        out = csv.writer(file, lineterminator="\r\n")
        out.writerows([["中国农业银行 账户交易明细"], ["账号：", "15-300101040012345"], ["户名：", "原州区财政局专户"],
                       ["起止日期：", "2020-03-01 至 2020-03-31"], []])  # fmt: skip
        out.writerow(
            ["交易日期", "交易流水号", "对方账号", "对方户名", "支出金额", "收入金额", "余额", "摘要"]
        )
        for k in range(n):
            fen = amount_fen(k)
            debit += fen
            if k % 500 == 499:  # money out with no payment in the ledger
                row = [value_date(k), f"NB{k:010d}", account(n + k), "某**", fen, "", "", "转账支出"]
            else:
                reference = "" if k % 1000 == 999 else f"NX{k:010d}"
                row = [value_date(k), reference, account(k), "王**", fen, "", "", f"生活费补贴 P-{k:07d}"]
            row[4] = f"{row[4] // 100:,}.{row[4] % 100:02d}"  # type: ignore[operator]
            row[0] = row[0].isoformat()  # type: ignore[attr-defined]
            out.writerow(row)
        out.writerow(["合计", "", "", "", f"{debit // 100:,}.{debit % 100:02d}", "0.00", "", ""])


# --- the measurement (in a child process per size) -------------------------------------------------
def peak_rss_kib() -> int:
    """This process's peak RSS: Linux's VmHWM, which starts again at exec. ``ru_maxrss`` does not: a
    child forked by the parent that has just built a ledger reported the parent's 1.9 GB as its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(db: str, keys: str, statement: str, lines: int) -> dict[str, Any]:
    from api.services import reconcile
    from ledger.encoding.canonical import canonical
    from ledger.service import Session
    from projections.reconciliation.statement import read_statement

    path = Path(statement)

    def parse_only() -> int:
        with path.open(encoding="gb18030", newline="") as text:
            return sum(1 for _ in csv.reader(text))

    def timed(step: Any) -> tuple[Any, float, float]:
        """``step()``, its wall and its CPU seconds (the machine is shared: CPU shows what wall hides)."""
        wall, cpu = time.perf_counter(), time.process_time()
        value = step()
        return value, time.perf_counter() - wall, time.process_time() - cpu

    with path.open("rb") as file:  # the file in the page cache for every step alike
        while file.read(2**20):
            pass
    session = Session.open(db, keys)  # the whole reconciliation first, so the peak RSS is its own
    (result, out), whole_s, whole_cpu_s = timed(lambda: (r := reconcile(session, path, actor=FIN, period=PERIOD),
                                                         canonical(r) + b"\n"))  # fmt: skip
    peak_rss_mib = round(peak_rss_kib() / 1024, 1)
    session.close()
    rows, parse_s, parse_cpu_s = min((timed(parse_only) for _ in range(3)), key=lambda t: t[1])  # best of 3
    read, read_s, read_cpu_s = min((timed(lambda: len(read_statement(path, period=PERIOD).lines)) for _ in range(3)),
                                   key=lambda t: t[1])  # fmt: skip
    assert read == lines + 1  # and 合计
    summary = result["summary"]
    assert isinstance(summary, dict)
    return {"rows": rows, "parse_s": parse_s, "read_s": read_s, "whole_s": whole_s, "parse_cpu_s": parse_cpu_s,
            "read_cpu_s": read_cpu_s, "whole_cpu_s": whole_cpu_s,
            "json_bytes": len(out), "summary": {k: v for k, v in summary.items() if v},
            "peak_rss_mib": peak_rss_mib}  # fmt: skip


def run_size(args: argparse.Namespace, backend: str, n: int) -> dict[str, Any]:
    target = bench_ledger(args.dir, "reconcile", backend, str(n))
    built = target.built()
    if built is None:
        print(f"== building {backend} ledger with {n} payments", file=sys.stderr, flush=True)
        target.reset()
        started = time.perf_counter()
        events = build(target.url, target.keys, n)
        built = {"events": events, "build_s": round(time.perf_counter() - started, 1)}
        target.mark_built(**built)
    caught_up(target.url, target.keys)
    statement = args.dir / f"statement-{n}.csv"
    write_statement(statement, n)
    child = subprocess.run([sys.executable, __file__, "--child", target.url, str(target.keys), str(statement), str(n)],
                           capture_output=True, text=True)  # fmt: skip
    if child.returncode != 0:
        sys.exit(f"measuring {backend} {n} failed:\n{child.stderr[-3000:]}")
    m = json.loads(child.stdout)
    lines = n + 1
    row = {"backend": backend, "lines": n, "payments": n, "events": built["events"],
           "statement_mib": round(statement.stat().st_size / 2**20, 2),
           "parse_lines_per_s": round(m["rows"] / m["parse_s"]), "read_lines_per_s": round(lines / m["read_s"]),
           "whole_lines_per_s": round(lines / m["whole_s"]), **m}  # fmt: skip
    row["ratio"] = round(row["whole_lines_per_s"] / row["parse_lines_per_s"], 3)
    row["read_ratio"] = round(row["read_lines_per_s"] / row["parse_lines_per_s"], 3)
    row["ratio_by_cpu"] = round((lines / m["whole_cpu_s"]) / (m["rows"] / m["parse_cpu_s"]), 3)
    row.update({key: round(row[key], 3) for key in ("parse_s", "read_s", "whole_s", "parse_cpu_s", "read_cpu_s",
                                                     "whole_cpu_s")})  # fmt: skip
    return row


def main() -> None:
    args = arguments().parse_args()
    if args.child:
        db, keys, statement, lines = args.child
        print(json.dumps(measure(db, keys, statement, int(lines))))
        return
    results = [run_size(args, backend, n) for backend in backends(args.backend) for n in args.lines]
    if args.json:
        print(
            json.dumps(
                {"target": f"whole >= {TARGET} x parse-only", "results": results},
                indent=2,
                ensure_ascii=False,
            )
        )
    print(f"{'backend':10} {'lines':>8} {'parse/s':>10} {'read/s':>9} {'whole/s':>9} {'ratio':>6} {'peak RSS':>9}",
          file=sys.stderr)  # fmt: skip
    for r in results:
        print(f"{r['backend']:10} {r['lines']:>8} {r['parse_lines_per_s']:>10,} {r['read_lines_per_s']:>9,} "
              f"{r['whole_lines_per_s']:>9,} {r['ratio']:>6} {r['peak_rss_mib']:>7} MiB", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
