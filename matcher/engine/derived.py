"""Values computed from a snapshot on first use (scorer terms, sector fit, coordination distances, ...), each
declared with the data it depends on, so that a refresh carries exactly the values that stay valid.

The data a derived value may depend on:

- ``directory``: members, offerings, clusters, reference files (any change rebuilds the whole snapshot);
- ``model``: the stored scorer;
- ``outcomes``: finished legs (member statistics and records);
- ``collaboration``: the joint-referral counts between members;
- ``load``: open legs and this month's legs.

A module declares its value once (``declare("scorer_need", "directory", "model", "outcomes")``) and reads it
with ``snapshot.derived.get(DECLARED, compute, key)``; computing is idempotent, so two threads that race
compute the same value and either result is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

DEPENDENCIES = frozenset({"directory", "model", "outcomes", "collaboration", "load"})
DECLARED: dict[str, Declared] = {}


@dataclass(frozen=True)
class Declared:
    name: str
    depends_on: frozenset

    def valid_after(self, changed: set) -> bool:
        """True when none of the data this value depends on is among ``changed``."""
        return not (self.depends_on & changed)


def declare(name: str, *depends_on: str) -> Declared:
    """Declare a derived value and the data it depends on (idempotent for the same declaration)."""
    unknown = set(depends_on) - DEPENDENCIES
    if unknown:
        raise ValueError(f"derived value {name!r} depends on unknown data {sorted(unknown)}; "
                         f"expected some of {sorted(DEPENDENCIES)}")
    declared = Declared(name, frozenset(depends_on) | {"directory"})
    if DECLARED.setdefault(name, declared) != declared:
        raise ValueError(f"derived value {name!r} is already declared with other dependencies")
    return declared


class Derived:
    """The derived values of one snapshot: computed on first use, never changed once computed."""

    def __init__(self, values: dict | None = None):
        self._values: dict = dict(values or {})

    def get(self, declared: Declared, compute, key=()):
        """The value ``declared`` (for ``key``), computing it with ``compute()`` on first use."""
        slot = (declared.name, key)
        value = self._values.get(slot)
        if value is None:
            value = self._values.setdefault(slot, compute())
        return value

    def peek(self, declared: Declared, key=()):
        """The value if it was computed, else None (never computes)."""
        return self._values.get((declared.name, key))

    def carried(self, changed: set, replaced: dict | None = None) -> Derived:
        """The values that stay valid when ``changed`` data changed, plus ``replaced`` (declared -> value,
        for values the refresh brought up to date itself)."""
        keep = {slot: v for slot, v in list(self._values.items()) if DECLARED[slot[0]].valid_after(changed)}
        for declared, value in (replaced or {}).items():
            keep[(declared.name, ())] = value
        return Derived(keep)

    def names(self) -> set[str]:
        return {slot[0] for slot in list(self._values)}
