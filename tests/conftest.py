"""Fixtures: a seeded demo database (built once, copied per test), the app, its client and CLI runner."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from matcher.dataset import ensure_database  # noqa: E402
from matcher.reference import load_reference  # noqa: E402


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory) -> Path:
    """The demo network seeded once per test session (read-only: copy it before writing)."""
    path = tmp_path_factory.mktemp("template") / "demo.db"
    ensure_database(path)
    return path


@pytest.fixture
def db_path(demo_db_template, tmp_path) -> Path:
    """A private copy of the seeded demo database for one test."""
    path = tmp_path / "rismep.db"
    shutil.copy(demo_db_template, path)
    return path


@pytest.fixture
def app(db_path):
    from api import create_app
    return create_app({"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def ref():
    return load_reference()


def assert_error_shape(response, status: int, field: str | None = None):
    """Every error answers in one JSON shape; ``field`` must be named when given."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], list)
    if field is not None:
        assert field in [e.get("field") for e in body["errors"]], body
    return body
