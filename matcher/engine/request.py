"""A match request, parsed and checked once: ``MatchRequest.parse(snapshot, body)`` for a request body (the
API, the desk, the commands), ``MatchRequest(...).checked(snapshot)`` for a request built in code (re-match).
Errors name the field, the bad value and the accepted values."""

from __future__ import annotations

from dataclasses import dataclass, field

from matcher.errors import NotFound, Unprocessable
from matcher.vocabulary import MAX_MEMBER_IDS, MAX_NEEDS, MAX_TOP_K

KINDS = ("all", "agencies")


@dataclass
class MatchRequest:
    """What a match is asked: the needs (category codes) of an enterprise in a province, and constraints.

    ``province_assumed``: the province is a default (the desk's own), not the enterprise's known one, so
    distances are not offered as reasons.
    """

    needs: list[str]
    province: str
    sector: str | None = None
    cluster: str | None = None
    top_k: int = 3
    exclude: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    coordinate_with: list[str] = field(default_factory=list)
    max_members: int | None = None
    local_only: bool = False
    kinds: str = "all"
    explain: bool = False
    province_assumed: bool = False

    @classmethod
    def parse(cls, snapshot, body: dict) -> MatchRequest:
        """Validate a match request body; errors name the field, the bad value and the accepted values."""
        ref = snapshot.ref
        if not isinstance(body, dict):
            raise Unprocessable("The request body must be a JSON object.", field="body")
        req = cls(needs=_needs(ref, body.get("needs")),
                  province=ref.resolve_province(body.get("province"), field="province"),
                  sector=_optional_text(body, "sector", "\"food\""),
                  cluster=_cluster(snapshot, body.get("cluster")),
                  top_k=_integer(body, "top_k", 3, 1, MAX_TOP_K),
                  max_members=_integer(body, "max_members", None, 1, MAX_NEEDS),
                  local_only=_flag(body, "local_only"), explain=_flag(body, "explain"),
                  kinds=_kinds(body.get("kinds", "all")), province_assumed=_flag(body, "province_assumed"))
        for name in ("exclude", "include", "coordinate_with"):
            setattr(req, name, _member_ids(snapshot, body, name))
        _check_consistent(req)
        return req

    def checked(self, snapshot) -> MatchRequest:
        """The same request checked as a body would be (for requests built in code)."""
        return MatchRequest.parse(snapshot, {
            "needs": list(self.needs), "province": self.province, "sector": self.sector, "cluster": self.cluster,
            "top_k": self.top_k, "exclude": list(self.exclude), "include": list(self.include),
            "coordinate_with": list(self.coordinate_with), "max_members": self.max_members,
            "local_only": self.local_only, "kinds": self.kinds, "explain": self.explain,
            "province_assumed": self.province_assumed})

def _needs(ref, value) -> list[str]:
    needs = ref.check_categories(value, field="needs")
    if not needs:
        raise Unprocessable("needs must name at least one service category.", field="needs",
                            allowed=ref.category_codes)
    if len(needs) > MAX_NEEDS:
        raise Unprocessable(f"At most {MAX_NEEDS} needs per case; got {len(needs)}. Split the case.",
                            field="needs")
    return needs


def _optional_text(body, name, example) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise Unprocessable(f"{name} must be a string, e.g. {example}; got {value!r}.", field=name)
    return value or None


def _integer(body, name, default, low, high):
    value = body.get(name, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Unprocessable(f"{name} must be an integer from {low} to {high}; got {value!r}.", field=name)
    return value


def _flag(body, name) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise Unprocessable(f"{name} must be true or false; got {value!r}.", field=name, allowed=[True, False])
    return value


def _kinds(value) -> str:
    if value not in KINDS:
        raise Unprocessable(f"kinds must be one of {', '.join(KINDS)}; got {value!r}. \"agencies\" leaves "
                            f"consultants (SPs) out.", field="kinds", allowed=list(KINDS))
    return value


def _cluster(snapshot, value) -> str | None:
    if value is None:
        return None
    if value not in snapshot.clusters:
        raise NotFound(f"Unknown cluster {value!r}; expected one of: {', '.join(sorted(snapshot.clusters))}.",
                            field="cluster", allowed=sorted(snapshot.clusters))
    return value


def _member_ids(snapshot, body, name) -> list[str]:
    ids = body.get(name) or []
    if isinstance(ids, str) or not isinstance(ids, (list, tuple)):
        raise Unprocessable(f"{name} must be a list of member ids, e.g. [\"A0001\", \"C0002\"].", field=name)
    if len(ids) > MAX_MEMBER_IDS:
        raise Unprocessable(f"{name} holds at most {MAX_MEMBER_IDS} member ids; got {len(ids)}.", field=name)
    unknown = [str(m) for m in ids if m not in snapshot.member_index]
    if unknown:
        raise NotFound(f"Unknown member id(s) in {name}: {', '.join(unknown)}. Member ids look like A0001 "
                            f"(agency) or C0001 (consultant); see GET /api/v1/agencies.", field=name)
    return list(dict.fromkeys(ids))


def _check_consistent(req: MatchRequest) -> None:
    for other in ("exclude", "coordinate_with"):
        both = sorted(set(req.include) & set(getattr(req, other)))
        if both:
            raise Unprocessable(f"{', '.join(both)} cannot be both in include and in {other}; "
                                f"{'remove it from one' if other == 'exclude' else 'members already on the case are never re-proposed'}.",
                                field="include")
    if req.max_members is not None and len(req.include) > req.max_members:
        raise Unprocessable(f"include names {len(req.include)} members but max_members is {req.max_members}; "
                            f"raise max_members or include fewer.", field="max_members")
