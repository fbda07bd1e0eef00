"""Referral plan: the order in which a bundle's legs should run, from category prerequisites held as data.

``data/prerequisites.csv`` says which category must be done before which (GMP before Thai FDA registration
for food, the FDA number before the label on new packaging, ...) or alongside which (a credit guarantee
with the loan it secures), optionally for some sectors only. ``load_prerequisites`` reads it into a
networkx DAG and refuses cycles; ``referral_plan`` orders one bundle's work in steps (a typed ``Plan``):
everything in a step can run in parallel, and each step waits for the steps before it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from matcher.engine.results import Plan, PlanRule, PlanStep, StepWork
from matcher.reference import read_csv

RELATIONS = ("before", "alongside")


@dataclass(frozen=True)
class Rule:
    before: str
    after: str
    relation: str
    sectors: frozenset
    reason_en: str
    reason_th: str

    def applies_to(self, sector: str | None) -> bool:
        """Rules without sectors apply to everyone; an unknown sector gets every rule (the safe order)."""
        return not self.sectors or sector is None or sector in self.sectors


def prerequisite_graph(rules) -> nx.DiGraph:
    """The rules as a DiGraph over categories, with each group of ``alongside`` categories contracted to
    one node (named by its sorted members joined by ``+``). O(R)."""
    groups = _alongside_groups(rules)
    G = nx.DiGraph()
    G.add_nodes_from(set(groups.values()))
    for r in rules:
        if r.relation == "before":
            G.add_edge(groups.get(r.before, r.before), groups.get(r.after, r.after), rule=r)
    return G


def check_acyclic(rules) -> None:
    """Raise ValueError naming the cycle when the rules cannot all be satisfied."""
    G = prerequisite_graph(rules)
    if not nx.is_directed_acyclic_graph(G):
        cycle = " -> ".join(u for u, _ in nx.find_cycle(G))
        raise ValueError(f"data/prerequisites.csv has a cycle: {cycle}; remove or reverse one of its rules.")


@functools.lru_cache(maxsize=4)
def load_prerequisites(path, categories: tuple | None = None) -> tuple[Rule, ...]:
    """The rules of a ``prerequisites.csv`` (``data/prerequisites.csv`` under the DATA_DIR setting), checked:
    known relations, known categories when ``categories`` is given, and no cycles."""
    path = Path(path)
    rules = []
    for line, row in enumerate(read_csv(path), start=2):
        if row["relation"] not in RELATIONS:
            raise ValueError(f"{path.name} line {line}: relation {row['relation']!r}; expected one of {RELATIONS}.")
        for code in (row["before"], row["after"]):
            if categories is not None and code not in categories:
                raise ValueError(f"{path.name} line {line}: unknown category {code!r}.")
        rules.append(Rule(row["before"], row["after"], row["relation"], frozenset((row["sectors"] or "").split()),
                          row["reason_en"], row["reason_th"]))
    check_acyclic(rules)
    return tuple(rules)


def _alongside_groups(rules) -> dict[str, str]:
    """Category -> the name of its alongside group (union-find over ``alongside`` rules)."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rules:
        if r.relation == "alongside":
            parent[find(r.before)] = find(r.after)
        else:
            find(r.before), find(r.after)
    members: dict[str, list[str]] = {}
    for x in list(parent):
        members.setdefault(find(x), []).append(x)
    return {x: "+".join(sorted(group)) for group in members.values() for x in group}


def steps_of(needs, rules, sector: str | None = None) -> tuple[dict[str, int], list[Rule]]:
    """Step (1, 2, ...) of each need and the rules that ordered them: a need's step is one more than the
    latest step of the needs that must come before it; alongside needs share a step. Only rules between
    needs of this case count (a prerequisite the enterprise does not ask for is taken as done).
    O(needs + rules)."""
    needs = list(needs)
    wanted = set(needs)
    used = [r for r in rules if r.before in wanted and r.after in wanted and r.applies_to(sector)]
    groups = _alongside_groups(used)
    group_of = {n: groups.get(n, n) for n in needs}
    preds: dict[str, set] = {g: set() for g in group_of.values()}
    for r in used:
        if r.relation == "before":
            preds[group_of[r.after]].add(group_of[r.before])
    step: dict[str, int] = {}

    def depth(g, seen=()):
        if g not in step:
            if g in seen:
                raise ValueError(f"prerequisites form a cycle through {g}")
            step[g] = 1 + max((depth(p, seen + (g,)) for p in preds[g]), default=0)
        return step[g]

    return {n: depth(group_of[n]) for n in needs}, used


def referral_plan(assignment: dict[str, str], rules, sector: str | None = None) -> Plan:
    """The plan of one bundle (``assignment`` maps each need to the member id that takes it): its steps,
    each with the work per member (everything in a step can run in parallel; a step waits for the steps
    before it), and the rules that ordered them. ``matcher.render`` writes it in Thai and English."""
    step, used = steps_of(list(assignment), rules, sector)
    by_step: dict[int, dict[str, list[str]]] = {}
    for need, member in assignment.items():
        by_step.setdefault(step[need], {}).setdefault(member, []).append(need)
    steps = [PlanStep(k, [StepWork(m, ns) for m, ns in by_step[k].items()]) for k in sorted(by_step)]
    return Plan(steps, [PlanRule(r.before, r.after, r.relation, r.reason_th, r.reason_en) for r in used])


def leg_steps(plan_: Plan) -> dict[str, int]:
    """The step each member's leg starts at (the first step of its needs)."""
    first: dict[str, int] = {}
    for s in plan_.steps:
        for w in s.work:
            first.setdefault(w.member, s.step)
    return first
