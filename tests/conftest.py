"""Fixtures: a seeded demo database (built once, copied per test), the app, its client and CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api import DATA_DIR  # noqa: E402
from matcher.engine.snapshot import build_snapshot  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.store import open_db  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory) -> Path:
    """The demo network seeded once per test session (read-only: copy it before writing)."""
    path = tmp_path_factory.mktemp("template") / "demo.db"
    ensure_database(path, load_reference(DATA_DIR))
    return path


@pytest.fixture
def db_path(demo_db_template, tmp_path) -> Path:
    """A private copy of the seeded demo database for one test."""
    path = tmp_path / "rismep.db"
    shutil.copy(demo_db_template, path)
    return path


@pytest.fixture
def db(db_path):
    """An open store on the test's private copy of the demo database."""
    handle = open_db(db_path)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def demo(demo_db_template, tmp_path_factory, ref):
    """A snapshot of the demo network (read-only; shared by the whole session)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(demo_db_template, path)
    handle = open_db(path)
    yield build_snapshot(handle, ref)
    handle.close()


def shared_model_path(base: Path) -> Path:
    """The intake model of a test session whose shared temporary folder is ``base``."""
    (base / "models").mkdir(exist_ok=True)
    return base / "models" / "intake.joblib"


@pytest.fixture(scope="session")
def intake_model_path(tmp_path_factory) -> Path:
    """Where the apps of this test session keep the intake model: trained on first use, then shared (never
    inside the working tree). Parallel test workers share one folder, so the model is trained once."""
    base = tmp_path_factory.getbasetemp()
    return shared_model_path(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)


def pytest_sessionstart(session):
    """With parallel workers (``make test``), the coordinating process starts training the session's intake
    model at once, in the background and under the model's file lock, while the workers run the tests that
    do not need it; a worker that needs the model first waits on the lock instead of training it again."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    path = shared_model_path(config._tmp_path_factory.getbasetemp())
    code = ("import sys; from pathlib import Path; from api import DATA_DIR; "
            "from matcher.intake.training import load_or_train; from matcher.reference import load_reference; "
            "load_or_train(Path(sys.argv[1]), load_reference(DATA_DIR))")
    log = open(path.parent / "training.log", "w")  # noqa: SIM115 - closed with the process
    config._intake_training = (subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=log,
                                                stderr=subprocess.STDOUT), log)


def pytest_unconfigure(config):
    process, log = getattr(config, "_intake_training", (None, None))
    if process is not None:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def app(db_path, intake_model_path):
    from api import create_app
    return create_app({"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "test",
                       "INTAKE_MODEL": str(intake_model_path)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def ref():
    return load_reference(DATA_DIR)


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


@pytest.fixture(scope="session")
def tiny_intake_corpus(tmp_path_factory):
    """A corpus of the first-round train rows (a quarter of them) and the test split: trains in seconds."""
    import csv
    import re
    out = tmp_path_factory.mktemp("corpus")
    shutil.copy(DATA_DIR / "intake" / "lexicon.csv", out / "lexicon.csv")
    shutil.copy(DATA_DIR / "intake" / "named_needs.csv", out / "named_needs.csv")
    for path in sorted((DATA_DIR / "intake").glob("corpus_*.csv")):
        if re.match(r"corpus_[a-z]_", path.name) and not path.name.startswith("corpus_h_"):
            continue
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        keep = [r for r in rows if r["split"] == "test"] + [r for r in rows if r["split"] == "train"][::4]
        with open(out / path.name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "text", "labels", "lang", "split"])
            writer.writeheader()
            writer.writerows(keep)
    return out


def signed_in_client(app, db, username: str | None = None, lang: str | None = None, csrf: str = "token-for-tests"):
    """A test client of ``app`` signed in as ``username`` with a real server-side session in the store (the
    sign-in form itself is tested in test_sessions.py), with a known CSRF token and the page's language."""
    from datetime import timedelta

    from matcher.store.sessions import start_session
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = csrf
        if username:
            uid = db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()[0]
            session["sid"] = start_session(db, uid, lifetime=timedelta(hours=12), idle=timedelta(hours=1))
        if lang:
            session["lang"] = lang
    return client


# The order the tests are handed to the workers: the modules that need the session's trained intake model
# last (it trains in the background meanwhile), and within each part the longest modules first, so that
# the two workers finish together.
NEEDS_MODEL = ("test_fuzz", "test_browser_desk", "test_browser", "test_browser_directory", "test_api_intake",
               "test_intake", "test_intake_named", "test_desk_pages", "test_desk_steps", "test_intake_corrections",
               "test_notify", "test_sessions", "test_hostile_input", "test_personal_data")
LONGEST_FIRST = ("test_report", "test_faults", "test_intake_assessment", "test_concurrency", "test_hsds",
                 "test_render", "test_concurrency_many")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in NEEDS_MODEL:
            return 1, NEEDS_MODEL.index(module)
        return 0, LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)
