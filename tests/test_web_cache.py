"""The web layer's one cache (web/cache.py) on a real SQLite store: a value is built once per data version,
again after the data moves, not during the grace period, and once for many requests at the same time."""

from __future__ import annotations

import shutil
import threading
import time

from matcher.store import bump_data_version, open_db
from web import cache


def make_app(demo_db_template, tmp_path):
    from api import create_app
    path = tmp_path / "cache.db"
    shutil.copy(demo_db_template, path)
    return create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test"}), path


def test_built_once_per_data_version_and_again_when_the_data_moves(demo_db_template, tmp_path):
    app, path = make_app(demo_db_template, tmp_path)
    builds = []
    with app.app_context():
        first = cache.versioned("numbers", lambda: builds.append(1) or len(builds))
        again = cache.versioned("numbers", lambda: builds.append(1) or len(builds))
        assert first == again == 1 and len(builds) == 1
        writer = open_db(path)
        bump_data_version(writer)
        writer.close()
        assert cache.versioned("numbers", lambda: builds.append(1) or len(builds)) == 2
        held = cache.versioned("numbers", lambda: builds.append(1) or len(builds), grace_s=60)
        assert held == 2, "unchanged data: the same value"
        writer = open_db(path)
        bump_data_version(writer)
        writer.close()
        assert cache.versioned("numbers", lambda: builds.append(1) or len(builds), grace_s=60) == 2, \
            "within the grace period the last value is served"
        assert cache.versioned("numbers", lambda: builds.append(1) or len(builds)) == 3


def test_many_requests_at_once_build_once(demo_db_template, tmp_path):
    app, _ = make_app(demo_db_template, tmp_path)
    builds, results = [], []

    def slow():
        builds.append(1)
        time.sleep(0.3)
        return "built"

    def ask():
        with app.app_context():
            results.append(cache.versioned("slow", slow))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["built"] * 6 and len(builds) == 1
