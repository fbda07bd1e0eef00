"""The Flask app: ``create_app(test_config=None)``.

Settings come from ``SETTINGS`` (defaults), then ``RISMEP_*`` environment variables (e.g.
``RISMEP_DATABASE=/srv/rismep.db``), then ``test_config``. Nothing is read at import time.
``flask --app api run`` serves it; ``flask --app api --help`` lists the commands.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from apiflask import APIFlask

from matcher import __version__
from matcher.config import EngineConfig
from matcher.engine.snapshot import SnapshotCache
from matcher.reference import load_reference
from matcher.store import database_exists, prepare_database

ROOT = Path(__file__).resolve().parent
DATA_DIR = ROOT / "data"  # the project's own data: reference CSVs, prerequisites, the intake corpus

# name: (default, help). The one place every setting is defined.
SETTINGS = {
    "DATABASE": (str(DATA_DIR / "rismep.db"), "SQLite file; `flask --app api init-db` creates it with the demo network"),
    "DEMO_SEED": (2018, "seed of the synthetic demo network written into a new database"),
    "DEMO_SCALE": ("demo", "size of the synthetic network written into a new database: demo or national"),
    "DATA_DIR": (str(DATA_DIR), "folder of the reference CSV files, prerequisites.csv and the intake corpus"),
    "MAX_CONTENT_LENGTH": (1_000_000, "largest request body accepted, in bytes"),
    "SECRET_KEY": (None, "desk session signing key; unset: generated once and kept in the database "
                         "(flask --app api rotate-session-key replaces it)"),
    "SESSION_IDLE_MINUTES": (60, "a desk session ends after this many minutes without a request"),
    "SESSION_HOURS": (12, "a desk session ends this many hours after sign-in, however active"),
    "SIGN_IN_LIMIT": (10, "sign-in attempts per username and address per 5 minutes (all workers together)"),
    "SIGN_IN_ADDRESS_LIMIT": (30, "sign-in attempts per address per 5 minutes, whatever the username"),
    "API_KEY_LIMIT": (6000, "requests per API key per minute (all workers together)"),
    "BAD_KEY_LIMIT": (120, "requests with unknown or revoked API keys per address per minute"),
    "INTAKE_MODEL": (str(DATA_DIR / "models" / "intake.joblib"),
                     "intake classifier file; trained from data/intake/ and saved here on first use if absent"),
    "TRACK_LIMIT": (30, "public tracking-code look-ups per address per minute (all workers)"),
    "PUBLIC_URL": ("http://127.0.0.1:5000", "the address people open the desk at (links in e-mails and webhooks)"),
    "SMTP_HOST": (None, "SMTP server for e-mail notifications (unset: e-mail deliveries fail, are retried, then wait in the dead-letter list for a replay)"),
    "SMTP_PORT": (25, "SMTP port (587 with SMTP_STARTTLS, 465 with SMTP_SSL)"),
    "SMTP_USER": (None, "SMTP user name, when the server asks for one"),
    "SMTP_PASSWORD": (None, "SMTP password (from the environment only)"),
    "SMTP_FROM": ("rismep@localhost", "sender address of notification e-mails"),
    "SMTP_STARTTLS": (False, "upgrade the SMTP connection with STARTTLS"),
    "SMTP_SSL": (False, "connect to the SMTP server over TLS from the start"),
    "SMTP_TIMEOUT": (10, "seconds to wait for the SMTP server"),
    "WEBHOOK_TIMEOUT": (10, "seconds to wait for a webhook receiver"),
    "NOTIFY_POLL_SECONDS": (2, "how often the notify worker looks for due deliveries and overdue legs"),
    "NOTIFY_BATCH": (50, "deliveries one pass of the notify worker takes"),
    "NOTIFY_LEASE_SECONDS": (60, "how long a claimed delivery is kept from other workers"),
    "NOTIFY_BACKOFF_SECONDS": (30, "first retry delay of a failed delivery; doubles each attempt, at most an hour"),
    "NOTIFY_MAX_ATTEMPTS": (8, "attempts before a delivery goes to the dead-letter list"),
    "POOL_PER_NEED": ("8,6,6,4,3,3,3,3", "match: members kept per need in the candidate pool, for cases of "
                                         "1, 2, ... 8 needs"),
    "POOL_MULTI": (8, "match: members kept in the pool as the best takers of groups of needs"),
    "POOL_PARTNERS": (3, "match: past partners of the leading members kept in the pool"),
    "SNAPSHOT_FILE": ("", "file the engine's first snapshot is read from and stored to, so that a start does not "
                          "re-read the whole history (auto: DATABASE.snapshot; empty: not kept)"),
    "WARM_START": (False, "build the engine's snapshot, load the intake model and compile the search kernel when "
                          "the app is created (make serve: with gunicorn --preload the workers share them)"),
}


# Blueprint modules (each exports ``bp``), registered in this order.
BLUEPRINTS = ("web.directory", "web.matching", "web.docs", "web.desk", "web.referrals", "web.hsds", "web.admin", "web.analysis", "web.intake",
              "web.notifications")


@dataclass
class Engine:
    """What the app holds in memory: its configuration, reference data and the snapshot of the network."""

    config: EngineConfig
    ref: object
    snapshots: SnapshotCache
    _intake: object = field(default=None, repr=False)
    _intake_stamp: object = field(default=None, repr=False)

    @property
    def intake(self):
        """The intake classifier, loaded once per process (trained and saved first if missing or stale) and
        loaded again when ``train-intake`` has replaced the file (a retrained model needs no restart)."""
        stamp = _file_stamp(self.config.intake_model)
        if self._intake is None or stamp != self._intake_stamp:
            from matcher.intake.training import load_or_train
            self._intake = load_or_train(self.config.intake_model, self.ref)
            self._intake_stamp = _file_stamp(self.config.intake_model)
        return self._intake


def _file_stamp(path):
    """(modification time, size) of a file, or None when it is missing."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def create_app(test_config: dict | None = None) -> APIFlask:
    app = APIFlask(__name__, title="RISMEP referral matcher", version=__version__,
                   spec_path="/api/v1/openapi.json", docs_path="/api/v1/docs",
                   template_folder="web/templates", static_folder="web/static")
    app.config.from_mapping({k: v[0] for k, v in SETTINGS.items()})
    app.config.from_prefixed_env("RISMEP")
    app.config.from_mapping(test_config or {})
    _configure_openapi(app)
    prepare_database(app.config["DATABASE"])
    config = EngineConfig.from_settings(app.config)
    ref = load_reference(config.data_dir)
    app.extensions["rismep"] = Engine(config=config, ref=ref, snapshots=SnapshotCache(ref, config.search,
                                                                                    config.snapshot_file))
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from web import bodies, context, errors, openapi, security, sessions
    sessions.register(app)
    openapi.register(app)
    errors.register(app)
    security.register(app)
    bodies.register(app)
    app.teardown_appcontext(context.close_db)
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)

    from commands import register_commands
    register_commands(app)
    if app.config["WARM_START"]:
        warm_start(app)
    return app


def warm_start(app) -> None:
    """Build the snapshot (with its coordination distances), load the intake model when its file exists,
    compile the search kernel and load the figure library, then freeze the objects made so far out of the
    garbage collector: workers forked after this (gunicorn --preload) share these pages with the master
    until they change them. The connection used is closed before any fork."""
    import gc
    from matcher.engine import matching
    from matcher.engine.request import MatchRequest
    from matcher.store import open_db
    engine = app.extensions["rismep"]
    if not database_exists(app.config["DATABASE"]):
        return
    db = open_db(app.config["DATABASE"], migrate_schema=False)
    try:
        snapshot = engine.snapshots.get(db)
    finally:
        db.close()
    snapshot.coordination()
    served = [c for c in snapshot.categories if len(snapshot.servers[snapshot.category_index[c]])][:2]
    if served and snapshot.province_codes:
        matching.match(snapshot, MatchRequest.parse(snapshot, {"needs": served, "province": snapshot.province_codes[0]}))
    if _file_stamp(engine.config.intake_model) is not None:
        engine.intake  # noqa: B018 - loads the model file
    from graphs import report
    report.prepare()
    gc.collect()
    gc.freeze()


def _configure_openapi(app) -> None:
    from web.errors import ERROR_SCHEMA
    app.config.update(
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA, HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
        DESCRIPTION=("Recommends multi-agency service bundles for Thai SMEs over the RISMEP network of "
                     "agencies (BDSPs) and consultants (SPs). The bundled demo network is SYNTHETIC."),
        SWAGGER_UI_CSS="/api/v1/docs/assets/swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS="/api/v1/docs/assets/swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS="/api/v1/docs/assets/swagger-ui-standalone-preset.js",
        DOCS_FAVICON="/api/v1/docs/assets/favicon-32x32.png",
    )
