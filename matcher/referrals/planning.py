"""The referral plan carried into the legs: each need's plan step and prerequisites, and one leg per member
and step (legs of one step run in parallel; a leg waits until the needs before it are done).

The order comes from the engine's category prerequisites (``matcher.engine.plan``, ``data/prerequisites.csv``)
for the enterprise's sector; only needs of this case count.
"""

from __future__ import annotations

import networkx as nx

from matcher.engine import plan


def rules_of(ref) -> tuple:
    """The prerequisite rules of the reference's data folder (``prerequisites.csv``), cached by the engine."""
    return plan.load_prerequisites(ref.data_dir / "prerequisites.csv", tuple(ref.category_codes))


def need_plan(needs: list[str], rules, sector: str | None) -> list[dict]:
    """``[{"need", "step", "prerequisites"}]`` in the case's order: the needs that must be done first
    (directly or through others), from the rules between needs of this case."""
    step, used = plan.steps_of(needs, rules, sector)
    graph = plan.prerequisite_graph(used)
    groups = {member: node for node in graph for member in node.split("+")}
    out = []
    for need in needs:
        node = groups.get(need, need)
        before = nx.ancestors(graph, node) if node in graph else set()
        prerequisites = sorted(n for group in before for n in group.split("+") if n in step)
        out.append({"need": need, "step": step[need], "prerequisites": prerequisites})
    return out


def legs_of_plan(assignment: dict[str, str], needs: list[dict]) -> list[dict]:
    """One leg per (member, plan step) with the needs it covers in the case's order: ``{"member_id",
    "needs", "step"}``, ordered by step."""
    step = {n["need"]: n["step"] for n in needs}
    legs: dict[tuple, list[str]] = {}
    for need, member in assignment.items():
        legs.setdefault((step.get(need, 1), member), []).append(need)
    return [{"member_id": member, "needs": covered, "step": k}
            for (k, member), covered in sorted(legs.items(), key=lambda item: item[0][0])]
