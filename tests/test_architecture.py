"""The layout keeps its promises: layers and no cycles (import-linter), small modules, an app factory
without side effects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500


def test_import_contracts_hold():
    """Layers (web and commands over the services over the engine over graphs and the store over the
    vocabulary), only the store touches SQL, no Flask below the web layer, no import cycles."""
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0
    finally:
        os.chdir(old)


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(ROOT)): n for p in ROOT.glob("*/**/*.py")
            if ".venv" not in p.parts and p.parts[len(ROOT.parts)] in ("matcher", "graphs", "web", "commands")
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_loading_the_app_creates_no_file(tmp_path):
    """``flask --app api --help`` with a mistyped database path creates nothing: only init-db writes."""
    env = dict(os.environ, RISMEP_DATABASE=str(tmp_path / "typo.db"),
               RISMEP_INTAKE_MODEL=str(tmp_path / "models" / "intake.joblib"))
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "api", "--help"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "init-db" in out.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_request_without_a_database_says_how_to_create_one(tmp_path):
    from api import create_app
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "absent.db"), "SECRET_KEY": "t"})
    response = app.test_client().get("/api/v1/agencies")
    assert response.status_code == 503
    assert "init-db" in response.get_json()["error"]
    assert not (tmp_path / "absent.db").exists()
