"""``simulate`` and ``demo``: the whole system on a realistic Guyuan programme (issue #6)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli import STATE, app, fail, session
from ledger.i18n import lang


def _zh(zh: str, en: str) -> str:
    return zh if lang() == "zh" else en


def _truth_json(sim: Any, pepper: bytes) -> dict[str, Any]:
    """The injected truth, with raw account numbers replaced by their payee hashes (DESIGN §7)."""
    from ledger.pii import payee_account

    def case(c: Any) -> dict[str, Any]:
        subject_id = c.subject_id
        if subject_id.startswith("raw:"):
            subject_id = payee_account(pepper, subject_id.removeprefix("raw:"))
        return {"rule": c.rule, "subject": {"kind": c.subject_kind, "id": subject_id},
                "laborer_id": c.laborer_id, "note": c.note}  # fmt: skip

    return {"truth": [case(c) for c in sim.truth], "expected_knock_on": [case(c) for c in sim.expected_knock_on]}


def run_simulation(s: Any, scale: str, seed: int, misuse_rate: float, truth: Path | None) -> dict[str, Any]:
    from ledger.progress import progress_bar
    from ledger.simulate import simulate

    sim = simulate(scale, seed=seed, misuse_rate=misuse_rate)
    with progress_bar(_zh("模拟导入", "simulating"), sim.count()) as advance:
        counts = s.run_simulation(sim, progress=advance)
    if truth is not None:
        truth.write_text(json.dumps(_truth_json(sim, s.keys.pepper), ensure_ascii=False, indent=1), encoding="utf-8")
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
    try:
        from projections.runner import catch_up
    except ModuleNotFoundError:
        return
    catch_up(s.ledger)


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
    with session() as s:
        s.init()
        result = run_simulation(s, scale, seed, 0.03, Path("truth.json"))
        _catch_up(s)
        summary(s, result, time.monotonic() - started)


def summary(s: Any, result: dict[str, Any], seconds: float) -> None:
    c = result["counts"]
    echo = typer.echo
    echo(_zh("== 培训补贴账本 演示 ==", "== Subsidy ledger demo =="))
    echo(_zh(f"日志 {s.ledger.size()} 条（记录 {c['accepted']}，拒绝 {c['refused']}），用时 {seconds:.1f} 秒",
             f"log of {s.ledger.size()} leaves ({c['accepted']} accepted, {c['refused']} refused) in {seconds:.1f} s"))  # fmt: skip
    try:
        from projections.balances import balances

        data = balances(s.ledger)
        echo(_zh("资金余额（按县区）:", "Fund balances by county:"))
        for account in data["accounts"]:
            if account["account"].startswith("fund:"):
                echo(f"  {account['account']:<36} {account['balance_fen'] / 100:>16,.2f} 元")
        echo(_zh(f"试算平衡：{data['trial_balance']['total_fen']}", f"trial balance: {data['trial_balance']['total_fen']}"))
    except Exception as exc:  # projections not available yet
        echo(f"({type(exc).__name__}: {exc})")
    latest = s.ledger.latest_checkpoint()
    if latest:
        echo(_zh("最新检查点:", "Latest checkpoint:"))
        for line in latest[2].splitlines():
            echo("  " + line)
    echo(_zh("接下来可以试试:", "Try next:"))
    for cmd in ("subsidy-ledger verify", "subsidy-ledger anomalies", "subsidy-ledger balances",
                "subsidy-ledger log | head", "subsidy-ledger proof inclusion 100"):  # fmt: skip
        echo("  " + cmd)
