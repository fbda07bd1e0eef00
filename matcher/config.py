"""The engine's configuration, built once from the app's settings and passed down: library code keeps no
default paths, so every file it reads or writes is named here (the ``RISMEP_*`` settings of ``api.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EngineConfig:
    """Where the engine's files are. ``data_dir`` holds the reference CSVs, ``prerequisites.csv`` and the
    intake corpus (``intake/``); ``intake_model`` is the trained intake classifier's file."""

    data_dir: Path
    intake_model: Path

    @classmethod
    def from_settings(cls, settings) -> EngineConfig:
        """From a mapping with the ``DATA_DIR`` and ``INTAKE_MODEL`` settings (a Flask app's config)."""
        return cls(data_dir=Path(settings["DATA_DIR"]), intake_model=Path(settings["INTAKE_MODEL"]))

    @property
    def corpus_dir(self) -> Path:
        return self.data_dir / "intake"
