"""Networks (NET-*): three households' living allowances on one card (代领), one labourer recycled
through three classes of one school."""

from __future__ import annotations

from collections import defaultdict

from simulator.injectors.hosts import Injector, also_enrol, classes, movable
from simulator.plan import Plan
from simulator.records import Claim, TrainingClass


def shared_card(plan: Plan) -> None:
    """Three households' living allowances paid to one card (a village cadre's, 代领)."""
    for cls in classes(plan, lambda c: c.la, slot=None):
        free = [c for c in cls.claims if c.kind == "living_allowance" and c.slot is None
                and not plan.labs[c.lines[0].lid].tainted and not c.payments[0].returned]  # fmt: skip
        picked: list[Claim] = []
        households: set[str] = set()
        for claim in free:
            hh = plan.labs[claim.lines[0].lid].hh.hid
            if hh not in households:
                picked.append(claim)
                households.add(hh)
            if len(picked) == 3:
                break
        if len(picked) < 3:
            continue
        account = plan.people.card(plan.rng)
        for claim in picked:
            claim.slot = "NET-SHARED-ACCOUNT"
            claim.account = account
        plan.case(
            "NET-SHARED-ACCOUNT",
            "account",
            "raw:" + account,
            None,
            f"one card (a village cadre's, 代领) receives the living allowances of "
            f"{', '.join(c.lines[0].lid for c in picked)} — 3 households; subject id is the raw "
            "account number, the lead maps it to its payee_account HMAC",
        )
        return


def recycled_trainee(plan: Plan) -> None:
    """One school enrolling the same labourer in three classes of one year (反复培训同一人)."""
    by_inst: dict[str, list[TrainingClass]] = defaultdict(list)
    for c in plan.classes:
        if c.state == "normal" and c.programme != "two_after_student":
            by_inst[c.inst].append(c)
    options = []
    for cs in by_inst.values():
        cs = sorted(cs, key=lambda c: c.start)
        for i, c1 in enumerate(cs):
            for c2 in cs[i + 1 :]:
                if c2.start <= c1.end or c2.start.year != c1.start.year or c2.occ.name == c1.occ.name:
                    continue
                for c3 in cs:
                    if (
                        c3.start > c2.end
                        and c3.start.year == c1.start.year
                        and c3.occ.name not in (c1.occ.name, c2.occ.name)
                    ):
                        options.append((c1, c2, c3))
                        break
                break
    plan.rng.shuffle(options)
    for c1, c2, c3 in options:
        lid = movable(plan, c1, [c2, c3])
        if lid is None:
            continue
        also_enrol(plan, c1, lid, [c2, c3])
        plan.case(
            "NET-RECYCLED-TRAINEE",
            "laborer",
            lid,
            lid,
            f"{c1.inst} enrolled the same labourer in {c1.cid}, {c2.cid} and {c3.cid} in "
            f"{c1.start.year} (反复培训同一人)",
        )
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "NET-SHARED-ACCOUNT": Injector("C", shared_card),
    "NET-RECYCLED-TRAINEE": Injector("A", recycled_trainee),
}
