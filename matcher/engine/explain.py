"""The explain block of a match: everything needed to recompute every bundle's J and check that none in the
pool is better (docs/ENGINE.md, "Explain")."""

from __future__ import annotations

import numpy as np

FORMULA = ("For a bundle, group its assignment's needs by member (a leg). A leg's logit z = leg_logits[member]"
           "[its needs joined by '+', in the order of needs] + weights.joint_partners * ln(1 + the sum of "
           "joint.referrals between the member and the other members of the bundle and coordinate_with) + "
           "weights.other_members * (members in the bundle - 1 + len(coordinate_with)). The leg's chance is "
           "1 / (1 + exp(-z)); J = sum over legs of ln(1 + exp(-z)); the bundle's chance that every need is met "
           "is exp(-J).")


def group_name(needs: list[str], mask: int) -> str:
    """The key of a group of needs in ``leg_logits``: its needs in request order, joined by '+'."""
    return "+".join(n for k, n in enumerate(needs) if mask >> k & 1)


def explain_block(snapshot, space, pool: list[int], obj, certificate: dict) -> dict:
    ids = [snapshot.members[m]["id"] for m in pool]
    entries = []
    for member_id, row in zip(ids, obj.logits):
        groups = {group_name(space.needs, mask): float(row[mask]) for mask in range(1, len(row))
                  if np.isfinite(row[mask])}
        entries.append({"member": member_id, "leg_logits": groups})
    config = snapshot.search
    return {"formula": FORMULA, "needs": list(space.needs),
            "weights": {"joint_partners": obj.w_joint, "other_members": obj.w_members},
            "pool": entries,
            "joint": {"members": ids + list(space.req.coordinate_with),
                      "referrals": [[int(x) for x in row] for row in obj.joint]},
            "coordinate_with": list(space.req.coordinate_with),
            "pool_rule": {"per_need": certificate["pool_per_need"],
                          "multi_need": config.pool_multi * certificate["growth"],
                          "collaborators": config.pool_partners * certificate["growth"]},
            "certificate": certificate}
