"""``simulate`` and ``demo``: the whole system on a realistic Guyuan programme (issue #6)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from api.cli.anomalies import SEVERITY
from api.cli.projections import consistent
from api.cli.root import Options, fail, options, session
from api.web import DEMO_META
from ledger.domain.money import yuan_amount

if TYPE_CHECKING:
    from api import services
    from ledger.service import Session
    from projections.anomalies.query import Flag

def register(app: typer.Typer) -> None:
    app.command()(simulate)
    app.command()(demo)


def simulate(
    ctx: typer.Context,
    scale: Annotated[str, typer.Option(help="tiny | small (one county, one season) | city (2018–2020)")] = "small",
    seed: Annotated[int, typer.Option(help="same seed, same programme")] = 2019,
    misuse_rate: Annotated[float, typer.Option(help="share of classes and claims with injected misuse")] = 0.03,
    truth: Annotated[Path | None, typer.Option(help="write the injected truth here (never into the ledger)")] = None,
    statements: Annotated[Path | None, typer.Option(
        help="write each finance bureau's monthly bank statements (GBK CSV, XLSX) into this folder")] = None,
    order: Annotated[str, typer.Option(
        help="chronological (business order) | shuffled (a random migration order the ledger accepts)")] = "chronological",
    order_seed: Annotated[int | None, typer.Option(help="seed of the shuffled order (default: --seed)")] = None,
) -> None:
    """Simulate Guyuan's programme into this ledger (actors, intents, signatures), with progress."""
    o = options(ctx)
    if scale not in ("tiny", "small", "city"):
        fail(o, "--scale must be tiny, small or city", 2)
    if not 0 <= misuse_rate <= 1:
        fail(o, "--misuse-rate must be between 0 and 1", 2)
    if order not in ("chronological", "shuffled"):
        fail(o, "--order must be chronological or shuffled", 2)
    from api import services

    with session(o) as s:
        c = services.run_simulation(s, scale, seed, misuse_rate, truth, o.meter(), statements=statements,
                                    order=order, order_seed=order_seed)["counts"]  # fmt: skip
        typer.echo(o.pick(
            f"模拟完成：记录 {c['accepted']}，重复 {c['duplicate']}，拒绝 {c['refused']}；日志长度 {s.ledger.size()}",
            f"simulation done: {c['accepted']} accepted, {c['duplicate']} duplicates, {c['refused']} refused;"
            f" log size {s.ledger.size()}",
        ))  # fmt: skip
        with consistent(o):
            services.catch_up(s.ledger, o.meter())


def demo(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="replace an existing ledger.db and keys/ here")] = False,
    scale: Annotated[str, typer.Option(help="tiny | small")] = "small",
    seed: Annotated[int, typer.Option()] = 2019,
) -> None:
    """In the current folder: create a ledger, simulate a season, build projections, verify, summarise."""
    o = dataclasses.replace(options(ctx), db="sqlite:///ledger.db")  # DESIGN §9: the defaults, here
    db_path, keys_dir = Path("ledger.db"), Path(o.keys)
    existing = [p for p in (db_path, keys_dir) if p.exists()]
    if existing and not force:
        fail(o, o.pick(f"此处已有账本（{', '.join(map(str, existing))}）；用 --force 覆盖",
                       f"a ledger already exists here ({', '.join(map(str, existing))}); use --force to replace it"), 2)  # fmt: skip
    for path in existing:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for extra in Path(".").glob("ledger.db-*"):
        extra.unlink()
    from api import services

    started = time.monotonic()
    with session(o, create=True) as s:
        s.init()
        s.ledger.set_meta(DEMO_META, "1")  # `serve --demo` serves only this ledger (DESIGN §13)
        result = services.run_simulation(s, scale, seed, 0.03, Path("truth.json"), o.meter(),
                                         statements=Path("statements"))  # fmt: skip
        with consistent(o):
            services.catch_up(s.ledger, o.meter())
        summary(o, s, result, time.monotonic() - started)


def summary(o: Options, s: Session, result: services.Simulated, seconds: float) -> None:
    """What a finance officer wants to see first: counts, money per county, flags, proof."""
    from api import services
    from ledger.translog.verify import run_verify

    echo, pick = typer.echo, o.pick
    c = result["counts"]
    names = s.ledger.jurisdictions.names
    echo(pick("== 培训补贴账本 演示（固原市，模拟数据）==", "== Subsidy ledger demo (Guyuan, simulated data) =="))
    echo(pick(f"日志 {s.ledger.size()} 条：记录 {c['accepted']}，拒绝 {c['refused']}；用时 {seconds:.1f} 秒",
              f"log of {s.ledger.size()} leaves: {c['accepted']} accepted, {c['refused']} refused; {seconds:.1f} s"))  # fmt: skip
    types: Counter[str] = Counter()
    for row in services.log_page(s.ledger):
        types[json.loads(row.leaf)["envelope"]["type"]] += 1
    echo(pick("  劳动力 {0}，培训班 {1}，考勤 {2}，证书 {3}，补贴申请 {4}，拨付 {5}",
              "  labourers {0}, classes {1}, attendance days {2}, certificates {3}, claims {4}, payments {5}").format(
        types["LaborerRegistered"], types["ClassOpeningRequested"], types["AttendanceRecorded"],
        types["CertificateIssued"], types["SubsidyClaimed"], types["PaymentDisbursed"]))  # fmt: skip

    data, engine = services.balances(s)
    echo(pick("资金余额（元，按县区）:", "Fund balances (yuan, by county):"))
    per_county: dict[str, int] = {}
    funds = {a["account"] for a in data["accounts"] if a["account"].startswith("fund:")}
    for code in names:
        sub, _ = services.balances(s, jurisdiction=code)
        total = sum(a["balance_fen"] for a in sub["accounts"] if a["account"] in funds and code != "640400")
        if total:
            per_county[code] = total
    for code, total in per_county.items():
        echo(f"  {names[code]} {code}: {yuan_amount(total):>16}")
    echo(pick(f"试算平衡：{data['trial_balance']['total_fen']} 分（借贷相等）",
              f"trial balance: {data['trial_balance']['total_fen']} fen (debits equal credits)"))  # fmt: skip

    flags, _ = services.anomalies(s)
    by_family: Counter[str] = Counter(f["rule"].split("-")[0] for f in flags)
    by_severity: Counter[str] = Counter(f["severity"] for f in flags)
    echo(pick(f"异常 {len(flags)} 条：", f"{len(flags)} anomaly flags:") + " " + "，".join(
        f"{o.say(SEVERITY, k)} {by_severity[k]}" for k in SEVERITY if by_severity[k]))
    echo("  " + "  ".join(f"{family} {n}" for family, n in sorted(by_family.items())))
    examples: dict[str, Flag] = {}  # three different rules, most severe first
    for flag in sorted(flags, key=lambda f: list(SEVERITY).index(f["severity"])):
        examples.setdefault(flag["rule"], flag)
    for flag in list(examples.values())[:3]:
        echo(f"  ▸ {flag['rule']} {flag['subject']['kind']}:{flag['subject']['id']}"
             f"{' / ' + flag['laborer_id'] if flag['laborer_id'] else ''} — "
             f"{pick(flag['message'], flag['message_en'])}")  # fmt: skip
        for event in services.evidence(s.ledger, engine, flag["evidence"])[:4]:
            echo(f"      seq {event['seq']}: {event['type']} {pick('由', 'by')} {event['actor']}"
                 f" @ {event['at']} [{event['key_id']}]")  # fmt: skip
        echo(f"      subsidy-ledger anomalies show {flag['id']}")
    paid = next((f for f in flags if f["subject"]["kind"] == "payment"), None)  # the most severe such flag
    if paid is not None:
        echo(pick("追溯一笔有异常的拨付（登记 → 报名 → 考勤 → 结业/鉴定 → 申报 → 审核 → 拨付，逐条验签）:",
                  "Trace a flagged payment (registration → enrolment → attendance → completion → claim → approval"
                  " → payment, each signature re-checked):"))  # fmt: skip
        echo(f"  subsidy-ledger trace payment {paid['subject']['id']}")

    intact = run_verify(s.ledger, s.keys)  # raises VerificationFailed (exit 1) if not intact
    echo(pick(f"防篡改校验：完好 — {intact.size} 条记录、{intact.signatures} 个签名、{intact.checkpoints} 个检查点均已核验"
              f"（{intact.events_per_second:,.0f} 条/秒）",
              f"tamper check: intact — {intact.size} leaves, {intact.signatures} signatures, {intact.checkpoints}"
              f" checkpoints verified ({intact.events_per_second:,.0f} events/s)"))  # fmt: skip
    latest = s.ledger.latest_checkpoint()
    if latest:
        echo(pick("最新检查点（运营方签名）:", "Latest checkpoint (operator-signed):"))
        for line in latest.note.splitlines():
            echo("  " + line)
    reports(o, s)
    reconciliation(o, s, result)
    echo(pick("接下来可以试试:", "Try next:"))
    for cmd in ("subsidy-ledger verify", "subsidy-ledger anomalies --severity critical",
                "subsidy-ledger balances --jurisdiction 640422", "subsidy-ledger log | head",
                "subsidy-ledger proof inclusion 100", "subsidy-ledger export evidence claim <claim_id> evidence/"):  # fmt: skip
        echo("  " + cmd)


def reports(o: Options, s: Session) -> None:
    """The city's monthly report (DESIGN §11) of the log clock's month, as HTML and XLSX here."""
    from api import services
    from api.cli.report import render

    engine = services.catch_up(s.ledger)
    clock = services.position_of(engine, None).clock
    if clock is None or s.ledger.latest_checkpoint() is None:
        return
    found = services.monthly_report(s, month=clock[:7])
    typer.echo(o.pick(f"{clock[:7]} 月度情况通报:", f"monthly report of {clock[:7]}:"))
    for fmt in ("html", "xlsx"):
        path = Path(f"report-{found.doc['jurisdiction']}-{clock[:7]}.{fmt}")
        path.write_bytes(render(fmt, found.doc, found.series, o.lang))
        typer.echo(f"  {path.resolve()}")


def reconciliation(o: Options, s: Session, result: services.Simulated) -> None:
    """One month's bank reconciliation (DESIGN §10): the simulated GBK statement with the most
    exceptions, reconciled here against the ledger as its finance bureau would, and whether that
    outcome is already recorded (the simulation records each month's, as the bureaus do)."""
    from api import services
    from api.cli.reconcile import render
    from ledger.domain.aggregates import Reconciliation

    statements = [t for t in result["sim"].statement_truth() if str(t["file"]).endswith(".csv")]
    if not statements:
        return
    chosen = max(statements, key=lambda t: (len(cast("list[object]", t["exceptions"])), str(t["file"])))
    actor, period, path = str(chosen["actor"]), str(chosen["period"]), Path("statements") / str(chosen["file"])
    found = services.reconcile(s, path, actor=actor, period=period)
    typer.echo(o.pick(f"银行对账（{path}）:", f"bank reconciliation ({path}):"))
    typer.echo("  " + render(o, found).replace("\n", "\n  "))
    recorded = s.ledger.lookup(Reconciliation, str(found["reconciliation_id"]))
    if recorded.exists:
        typer.echo(o.pick(f"  该结果已由 {actor} 签名记录（seq {recorded.first_seq}），其例外已成为异常线索",
                          f"  this outcome is recorded, signed by {actor} (seq {recorded.first_seq}); its exceptions are flags"))  # fmt: skip
    typer.echo(f"  subsidy-ledger reconcile --statement {path} --period {period} --as {actor} --record")
