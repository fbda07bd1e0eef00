"""What a match returns: typed results, never prose. ``matcher.render`` writes them in Thai and English.

A ``Reason`` is a code with its parameters (numbers, member ids, category codes). The codes:

member legs (``MemberLeg.reasons``)
    ``distance`` {km, same_province}; ``capacity_left`` {legs}; ``track_record`` {need, completed,
    finished} (only with finished > 0); ``joint_work`` {with, referrals, on_case} (one per partner with past
    joint referrals); ``no_joint_work`` {partners} (there are partners, none worked with this member).
needs nobody can take (``Uncovered.reason``)
    ``no_member_offers`` {need}; ``members_unavailable`` {need}.
why a bundle ranks above the next (``Comparison.reasons``; the first is always about the chance)
    ``chance_higher`` {this, other}; ``chance_equal`` {value} (then ranked by member ids); what contributes,
    each only when true of the numbers it carries: ``fewer_members`` / ``more_members`` {this, other},
    ``more_joint_work`` / ``less_joint_work`` {this, other} (past joint referrals among the members and with
    those on the case), ``nearer`` / ``farther`` {this, other} (mean km of the legs).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": self.code, "params": dict(self.params)}


@dataclass
class MemberLeg:
    """One member's leg of a bundle: the needs it takes and the calibrated chance it succeeds."""

    member: str
    type: str
    kind: str | None
    name_th: str
    name_en: str
    province: str
    needs: list[str]
    chance: float
    distance_km: float | None
    step: int
    reasons: list[Reason]


@dataclass
class StepWork:
    member: str
    needs: list[str]


@dataclass
class PlanStep:
    """Everything in a step can run in parallel; a step waits for the steps before it."""

    step: int
    work: list[StepWork]

    @property
    def parallel(self) -> bool:
        return len(self.work) > 1


@dataclass
class PlanRule:
    """A prerequisite between two needs of the case (from ``data/prerequisites.csv``, with its reasons)."""

    before: str
    after: str
    relation: str
    reason_th: str
    reason_en: str


@dataclass
class Plan:
    steps: list[PlanStep]
    rules: list[PlanRule]


@dataclass
class Comparison:
    """Why a bundle ranks above another (the next one shown, or the best one not shown)."""

    rank: int
    members: list[str]
    chance: float
    objective: float
    reasons: list[Reason]
    only_in_this: list[str]
    only_in_other: list[str]
    shown: bool


@dataclass
class Bundle:
    rank: int
    legs: list[MemberLeg]
    assignment: dict[str, str]
    chance: float  # the calibrated chance that every need is met
    objective: float  # J = -ln chance
    plan: Plan
    comparison: Comparison | None = None

    @property
    def members(self) -> list[str]:
        return [leg.member for leg in self.legs]


@dataclass
class Uncovered:
    need: str
    reason: Reason


@dataclass
class MatchResult:
    province: str
    province_assumed: bool
    needs: list[str]
    covered: list[str]
    uncovered: list[Uncovered]
    bundles: list[Bundle]
    scorer: dict  # kind, version, note
    certificate: dict | None
    synthetic: bool
    explain: dict | None = None
