"""``simulate`` and ``demo``: the whole system on a realistic Guyuan programme (issue #6)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli import STATE, app, fail, session
from ledger.i18n import lang


def _zh(zh: str, en: str) -> str:
    return zh if lang() == "zh" else en


def _truth_json(sim: Any, payee_account: Callable[[str], str]) -> dict[str, Any]:
    """The injected truth, with raw account numbers replaced by their payee hashes (DESIGN §7)."""

    def case(c: Any) -> dict[str, Any]:
        subject_id = c.subject_id
        if subject_id.startswith("raw:"):
            subject_id = payee_account(subject_id.removeprefix("raw:"))
        return {"rule": c.rule, "subject": {"kind": c.subject_kind, "id": subject_id},
                "laborer_id": c.laborer_id, "note": c.note}  # fmt: skip

    return {"truth": [case(c) for c in sim.truth], "expected_knock_on": [case(c) for c in sim.expected_knock_on]}


def run_simulation(s: Any, scale: str, seed: int, misuse_rate: float, truth: Path | None) -> dict[str, Any]:
    from api.progress import progress_bar
    from simulator import simulate

    sim = simulate(scale, seed=seed, misuse_rate=misuse_rate)
    with progress_bar(_zh("模拟导入", "simulating"), sim.count()) as advance:
        counts = s.run_simulation(sim, progress=advance)
    if truth is not None:
        truth.write_text(json.dumps(_truth_json(sim, s.payee_account), ensure_ascii=False, indent=1), encoding="utf-8")
    return {"counts": counts, "sim": sim}


@app.command()
def simulate(
    scale: Annotated[str, typer.Option(help="tiny | small (one county, one season) | city (2018–2020)")] = "small",
    seed: Annotated[int, typer.Option(help="same seed, same programme")] = 2019,
    misuse_rate: Annotated[float, typer.Option(help="share of classes and claims with injected misuse")] = 0.03,
    truth: Annotated[Path | None, typer.Option(help="write the injected truth here (never into the ledger)")] = None,
) -> None:
    """Simulate Guyuan's programme into this ledger (actors, intents, signatures), with progress."""
    if scale not in ("tiny", "small", "city"):
        fail("--scale must be tiny, small or city", 2)
    if not 0 <= misuse_rate <= 1:
        fail("--misuse-rate must be between 0 and 1", 2)
    with session() as s:
        result = run_simulation(s, scale, seed, misuse_rate, truth)
        c = result["counts"]
        typer.echo(_zh(
            f"模拟完成：记录 {c['accepted']}，重复 {c['duplicate']}，拒绝 {c['refused']}；日志长度 {s.ledger.size()}",
            f"simulation done: {c['accepted']} accepted, {c['duplicate']} duplicates, {c['refused']} refused;"
            f" log size {s.ledger.size()}",
        ))  # fmt: skip
        _catch_up(s)


def _catch_up(s: Any) -> None:
    from api.cli_projections import project

    project(s.ledger, strict=True)


@app.command()
def demo(
    force: Annotated[bool, typer.Option("--force", help="replace an existing ledger.db and keys/ here")] = False,
    scale: Annotated[str, typer.Option(help="tiny | small")] = "small",
    seed: Annotated[int, typer.Option()] = 2019,
) -> None:
    """In the current folder: create a ledger, simulate a season, build projections, verify, summarise."""
    db_path, keys_dir = Path("ledger.db"), Path(STATE["keys"])
    existing = [p for p in (db_path, keys_dir) if p.exists()]
    if existing and not force:
        fail(_zh(f"此处已有账本（{', '.join(map(str, existing))}）；用 --force 覆盖",
                 f"a ledger already exists here ({', '.join(map(str, existing))}); use --force to replace it"), 2)  # fmt: skip
    for path in existing:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for extra in Path(".").glob("ledger.db-*"):
        extra.unlink()
    STATE["db"] = "sqlite:///ledger.db"
    started = time.monotonic()
    with session(create=True) as s:
        s.init()
        result = run_simulation(s, scale, seed, 0.03, Path("truth.json"))
        _catch_up(s)
        summary(s, result, time.monotonic() - started)


def summary(s: Any, result: dict[str, Any], seconds: float) -> None:
    """What a finance officer wants to see first: counts, money per county, flags, proof."""
    from collections import Counter

    from ledger.translog.verify import run_verify
    from projections.anomalies.query import evidence_events, list_flags
    from projections.db import engine_for
    from projections.readmodels.balances import balances

    echo = typer.echo
    c = result["counts"]
    names = s.ledger.jurisdictions.names
    engine = engine_for(s.ledger)
    echo(_zh("== 培训补贴账本 演示（固原市，模拟数据）==", "== Subsidy ledger demo (Guyuan, simulated data) =="))
    echo(_zh(f"日志 {s.ledger.size()} 条：记录 {c['accepted']}，拒绝 {c['refused']}；用时 {seconds:.1f} 秒",
             f"log of {s.ledger.size()} leaves: {c['accepted']} accepted, {c['refused']} refused; {seconds:.1f} s"))  # fmt: skip
    types: Counter[str] = Counter()
    for _, _, leaf in s.ledger.leaves():
        types[json.loads(leaf)["envelope"]["type"]] += 1
    echo(_zh("  劳动力 {0}，培训班 {1}，考勤 {2}，证书 {3}，补贴申请 {4}，拨付 {5}",
             "  labourers {0}, classes {1}, attendance days {2}, certificates {3}, claims {4}, payments {5}").format(
        types["LaborerRegistered"], types["ClassOpeningRequested"], types["AttendanceRecorded"],
        types["CertificateIssued"], types["SubsidyClaimed"], types["PaymentDisbursed"]))  # fmt: skip

    data = balances(engine)
    echo(_zh("资金余额（元，按县区）:", "Fund balances (yuan, by county):"))
    per_county: dict[str, int] = {}
    funds = {a["account"]: a["balance_fen"] for a in data["accounts"] if a["account"].startswith("fund:")}
    for code in names:
        sub = balances(engine, jurisdiction=code)
        total = sum(a["balance_fen"] for a in sub["accounts"] if a["account"] in funds and code != "640400")
        if total:
            per_county[code] = total
    for code, total in per_county.items():
        echo(f"  {names[code]} {code}: {total / 100:>16,.2f}")
    echo(_zh(f"试算平衡：{data['trial_balance']['total_fen']} 分（借贷相等）",
             f"trial balance: {data['trial_balance']['total_fen']} fen (debits equal credits)"))  # fmt: skip

    flags = list_flags(engine, jurisdictions=s.ledger.jurisdictions)
    by_family: Counter[str] = Counter(f["rule"].split("-")[0] for f in flags)
    by_severity: Counter[str] = Counter(f["severity"] for f in flags)
    sev_zh = {"critical": "严重", "high": "高", "medium": "中", "low": "低"}
    echo(_zh(f"异常 {len(flags)} 条：", f"{len(flags)} anomaly flags:") + " " + "，".join(
        f"{sev_zh[k] if lang() == 'zh' else k} {by_severity[k]}" for k in sev_zh if by_severity[k]))
    echo("  " + "  ".join(f"{family} {n}" for family, n in sorted(by_family.items())))
    examples: dict[str, dict[str, Any]] = {}  # three different rules, most severe first
    for flag in sorted(flags, key=lambda f: ["critical", "high", "medium", "low"].index(f["severity"])):
        examples.setdefault(flag["rule"], flag)
    for flag in list(examples.values())[:3]:
        echo(f"  ▸ {flag['rule']} {flag['subject']['kind']}:{flag['subject']['id']}"
             f"{' / ' + flag['laborer_id'] if flag['laborer_id'] else ''} — "
             f"{flag['message'] if lang() == 'zh' else flag['message_en']}")  # fmt: skip
        for event in evidence_events(s.ledger, engine, flag["evidence"])[:4]:
            echo(f"      seq {event.get('seq')}: {event.get('type')} {_zh('由', 'by')} {event.get('actor')}"
                 f" @ {event.get('at')} [{event.get('key_id')}]")  # fmt: skip
        echo(f"      subsidy-ledger anomalies show {flag['id']}")

    intact = run_verify(s.ledger, s.keys)  # raises VerificationFailed (exit 1) if not intact
    echo(_zh(f"防篡改校验：完好 — {intact.size} 条记录、{intact.signatures} 个签名、{intact.checkpoints} 个检查点均已核验"
             f"（{intact.events_per_second:,.0f} 条/秒）",
             f"tamper check: intact — {intact.size} leaves, {intact.signatures} signatures, {intact.checkpoints}"
             f" checkpoints verified ({intact.events_per_second:,.0f} events/s)"))  # fmt: skip
    latest = s.ledger.latest_checkpoint()
    if latest:
        echo(_zh("最新检查点（运营方签名）:", "Latest checkpoint (operator-signed):"))
        for line in latest.note.splitlines():
            echo("  " + line)
    echo(_zh("接下来可以试试:", "Try next:"))
    for cmd in ("subsidy-ledger verify", "subsidy-ledger anomalies --severity critical",
                "subsidy-ledger balances --jurisdiction 640422", "subsidy-ledger log | head",
                "subsidy-ledger proof inclusion 100", "subsidy-ledger export evidence claim <claim_id> evidence/"):  # fmt: skip
        echo("  " + cmd)
