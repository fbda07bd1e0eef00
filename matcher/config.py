"""The engine's configuration, built once from the app's settings and passed down: library code keeps no
default paths and no tunable module globals, so every file it reads or writes and every size of its search
is named here (the ``RISMEP_*`` settings of ``api.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PER_NEED = (8, 6, 6, 4, 3, 3, 3, 3)


@dataclass(frozen=True)
class SearchConfig:
    """The candidate pool a match searches exactly (docs/ENGINE.md, "The pool"), and the cap on coordination
    distances of the collaboration graph.

    ``pool_per_need[k - 1]``: members kept per need for a case of k needs; ``pool_multi``: members kept as
    the best takers of groups of needs; ``pool_partners``: past partners of the leaders kept;
    ``pool_growth``: the factors the pool is grown by, in turn, when the request's constraints leave no
    bundle in it; ``far``: the coordination distance between members with no closer collaboration path.
    """

    pool_per_need: tuple = DEFAULT_PER_NEED
    pool_multi: int = 8
    pool_partners: int = 3
    pool_growth: tuple = (1, 3)
    far: float = 1.0

    def per_need(self, needs: int) -> int:
        return int(self.pool_per_need[min(needs, len(self.pool_per_need)) - 1])

    def scaled(self, factor: int) -> SearchConfig:
        """The same rule with every pool size multiplied by ``factor`` (to measure what the rule costs)."""
        return SearchConfig(tuple(k * factor for k in self.pool_per_need), self.pool_multi * factor,
                            self.pool_partners * factor, self.pool_growth, self.far)

    @classmethod
    def from_settings(cls, settings) -> SearchConfig:
        """From ``POOL_PER_NEED`` ("8,6,6,4,3,3,3,3"), ``POOL_MULTI`` and ``POOL_PARTNERS`` when given."""
        per_need = settings.get("POOL_PER_NEED", DEFAULT_PER_NEED)
        if isinstance(per_need, str):
            per_need = tuple(int(k) for k in per_need.replace(" ", "").split(",") if k)
        return cls(pool_per_need=tuple(int(k) for k in per_need), pool_multi=int(settings.get("POOL_MULTI", 8)),
                   pool_partners=int(settings.get("POOL_PARTNERS", 3)))


@dataclass(frozen=True)
class EngineConfig:
    """Where the engine's files are and how it searches. ``data_dir`` holds the reference CSVs,
    ``prerequisites.csv`` and the intake corpus (``intake/``); ``intake_model`` is the trained intake
    classifier's file; ``search`` the candidate pool's sizes."""

    data_dir: Path
    intake_model: Path
    search: SearchConfig = field(default_factory=SearchConfig)
    snapshot_file: Path | None = None  # where the first snapshot is read from and stored (None: not kept)

    @classmethod
    def from_settings(cls, settings) -> EngineConfig:
        """From a mapping with the ``DATA_DIR`` and ``INTAKE_MODEL`` settings (a Flask app's config), the
        pool settings of :meth:`SearchConfig.from_settings` and ``SNAPSHOT_FILE`` (a path, ``auto``: beside
        ``DATABASE``, or empty)."""
        kept = settings.get("SNAPSHOT_FILE") or None
        if kept == "auto":
            kept = f"{settings['DATABASE']}.snapshot"
        return cls(data_dir=Path(settings["DATA_DIR"]), intake_model=Path(settings["INTAKE_MODEL"]),
                   search=SearchConfig.from_settings(settings), snapshot_file=Path(kept) if kept else None)

    @property
    def corpus_dir(self) -> Path:
        return self.data_dir / "intake"
