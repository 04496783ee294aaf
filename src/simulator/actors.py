"""The organisations of a plan, in registration order: each county's offices and townships, the
training institutions, the employers, then the city's offices."""

from __future__ import annotations

import random

from simulator.people import uscc
from simulator.plan import Plan, Township
from simulator.records import ActorSpec
from simulator.world import (
    CITY,
    CITY_OFFICES,
    COUNTIES,
    COUNTY_OFFICES,
    EMPLOYERS,
    INSTITUTIONS,
    TOWNSHIP_ACTORS,
    VILLAGE_STEMS,
)


def register_actors(plan: Plan) -> None:
    add = plan.actors.append
    counties = plan.cfg.counties
    for c in counties:
        county = COUNTIES[c]
        for office in COUNTY_OFFICES:
            actor_id = f"{office.actor_id}-{c}"
            add(ActorSpec(actor_id, office.role, c, office.name.format(county=county.name),
                          uscc(office.uscc_kind, c, actor_id)))  # fmt: skip
        rows: list[Township] = []
        for i, town in enumerate(county.townships, start=1):
            actor: str | None = None
            if i <= TOWNSHIP_ACTORS:
                actor = f"tw-{c}-{i:03d}"
                add(ActorSpec(actor, "township", c, f"{county.name}{town}人民政府", uscc("11", c, actor)))
            vr = random.Random("villages:" + c + town)
            villages = [s + "村" for s in vr.sample(VILLAGE_STEMS, vr.randint(6, 10))]
            rows.append((town, villages, actor))
        plan.townships[c] = rows
    for inst in INSTITUTIONS:
        if inst.jurisdiction == CITY or inst.jurisdiction in counties:
            region = inst.jurisdiction if inst.jurisdiction != CITY else "640402"
            add(ActorSpec(inst.actor_id, "institution", inst.jurisdiction, inst.name,
                          uscc(inst.uscc_kind, region, inst.actor_id)))  # fmt: skip
            plan.institutions.append((inst.actor_id, inst.jurisdiction, inst.teaches))
    for c in counties:
        for i, employer in enumerate(EMPLOYERS[c], start=1):
            actor_id = f"emp-{c}-{i:02d}"
            add(ActorSpec(actor_id, "employer", c, employer.name, uscc(employer.uscc_kind, c, actor_id)))
            plan.employers[c].append((actor_id, employer.sector))
    for office in CITY_OFFICES:
        add(ActorSpec(office.actor_id, office.role, CITY, office.name,
                      uscc(office.uscc_kind, CITY, office.uscc_seed or office.actor_id)))  # fmt: skip
