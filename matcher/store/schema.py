"""The versioned schema. ``MIGRATIONS[i]`` takes a database from version i to i + 1.

A migration is a list of SQL statements run in one transaction together with the new version number, so
a database is always at exactly one version. A step may also be a function of the database (a data
migration); it reads and writes only the columns that exist at its version. Add a migration; never edit a
released one.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the directory, the enterprises and the referral history.
    [
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)""",
        """CREATE TABLE provinces (
            code TEXT PRIMARY KEY, name_en TEXT NOT NULL, name_th TEXT NOT NULL, region TEXT NOT NULL,
            lat REAL NOT NULL, lon REAL NOT NULL, hub_code TEXT NOT NULL, is_hub INTEGER NOT NULL,
            live_since INTEGER)""",
        """CREATE TABLE categories (
            code TEXT PRIMARY KEY, domain TEXT NOT NULL, label_en TEXT NOT NULL, label_th TEXT NOT NULL)""",
        """CREATE TABLE agency_kinds (
            code TEXT PRIMARY KEY, name_en TEXT NOT NULL, name_th TEXT NOT NULL, categories TEXT NOT NULL,
            source TEXT)""",
        """CREATE TABLE members (
            id TEXT PRIMARY KEY, type TEXT NOT NULL CHECK (type IN ('agency', 'consultant')),
            name_th TEXT NOT NULL, name_en TEXT, province TEXT NOT NULL REFERENCES provinces(code),
            sectors TEXT, external_id TEXT UNIQUE, active INTEGER NOT NULL DEFAULT 1, synthetic INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE agencies (
            member_id TEXT PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
            kind TEXT NOT NULL REFERENCES agency_kinds(code), phone TEXT, website TEXT)""",
        """CREATE TABLE consultants (
            member_id TEXT PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
            affiliation TEXT REFERENCES members(id), years_experience INTEGER)""",
        """CREATE TABLE offerings (
            member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            category TEXT NOT NULL REFERENCES categories(code),
            capacity_month INTEGER NOT NULL CHECK (capacity_month >= 0),
            specialisation REAL NOT NULL DEFAULT 0.5 CHECK (specialisation BETWEEN 0 AND 1),
            PRIMARY KEY (member_id, category))""",
        """CREATE INDEX idx_offerings_category ON offerings(category)""",
        """CREATE TABLE clusters (
            id TEXT PRIMARY KEY, name_en TEXT NOT NULL, name_th TEXT NOT NULL,
            province TEXT REFERENCES provinces(code), sector TEXT, cda_name TEXT, cda_member_id TEXT
            REFERENCES members(id), synthetic INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE enterprises (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL, province TEXT NOT NULL REFERENCES provinces(code),
            sector TEXT, size TEXT, cluster_id TEXT REFERENCES clusters(id),
            stage TEXT CHECK (stage IS NULL OR stage IN ('upstream', 'midstream', 'downstream')),
            contact_name TEXT, contact_phone TEXT, contact_email TEXT, tax_id TEXT, external_id TEXT UNIQUE,
            synthetic INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)""",
        """CREATE TABLE cases (
            id INTEGER PRIMARY KEY, enterprise_id INTEGER REFERENCES enterprises(id),
            province TEXT NOT NULL REFERENCES provinces(code), needs TEXT NOT NULL, text TEXT,
            desk TEXT, created_at TEXT NOT NULL)""",
        """CREATE TABLE referrals (
            id INTEGER PRIMARY KEY, case_id INTEGER REFERENCES cases(id),
            enterprise_id INTEGER REFERENCES enterprises(id), status TEXT NOT NULL, desk TEXT,
            created_by TEXT, consent_given INTEGER NOT NULL DEFAULT 0, consent_by TEXT, consent_at TEXT,
            consent_scope TEXT, idempotency_key TEXT UNIQUE, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)""",
        """CREATE INDEX idx_referrals_created ON referrals(created_at)""",
        """CREATE TABLE referral_legs (
            id INTEGER PRIMARY KEY, referral_id INTEGER NOT NULL REFERENCES referrals(id),
            member_id TEXT NOT NULL REFERENCES members(id), needs TEXT NOT NULL, status TEXT NOT NULL,
            step INTEGER NOT NULL DEFAULT 1, decline_reason TEXT, value_baht REAL, note TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        """CREATE INDEX idx_legs_referral ON referral_legs(referral_id)""",
        """CREATE INDEX idx_legs_member ON referral_legs(member_id, status)""",
        """CREATE TABLE referral_events (
            id INTEGER PRIMARY KEY, referral_id INTEGER NOT NULL REFERENCES referrals(id),
            leg_id INTEGER REFERENCES referral_legs(id), actor TEXT NOT NULL, at TEXT NOT NULL,
            from_status TEXT, to_status TEXT NOT NULL, data TEXT)""",
        """CREATE INDEX idx_events_referral ON referral_events(referral_id)""",
        # Append-only: events are never edited or deleted.
        """CREATE TRIGGER referral_events_no_update BEFORE UPDATE ON referral_events
            BEGIN SELECT RAISE(ABORT, 'referral events are append-only'); END""",
        """CREATE TRIGGER referral_events_no_delete BEFORE DELETE ON referral_events
            BEGIN SELECT RAISE(ABORT, 'referral events are append-only'); END""",
        # The demo generator's hidden ground truth; never read by the engine, only by its evaluation.
        """CREATE TABLE demo_truth (
            leg_id INTEGER PRIMARY KEY REFERENCES referral_legs(id), p_success REAL NOT NULL)""",
    ],
    # 1 -> 2: desk accounts for the web pages (passwords stored only as salted hashes).
    [
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('desk', 'member', 'analyst', 'admin')),
            member_id TEXT REFERENCES members(id), desk TEXT, province TEXT REFERENCES provinces(code),
            name TEXT, demo INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL, last_sign_in_at TEXT,
            CHECK (role != 'member' OR member_id IS NOT NULL))""",
    ],
    # 2 -> 3: programme budget per province and year (baht), for value per baht in the KPIs.
    [
        """CREATE TABLE budgets (
            province TEXT NOT NULL REFERENCES provinces(code), year INTEGER NOT NULL CHECK (year BETWEEN 1990 AND 2100),
            baht REAL NOT NULL CHECK (baht >= 0), source TEXT, synthetic INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (province, year))""",
    ],
    # 3 -> 4: referral lifecycle: API keys (hashed), the personal-data read log, re-matched legs,
    # the request fingerprint behind Idempotency-Key.
    [
        """CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY, prefix TEXT NOT NULL UNIQUE, key_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('desk', 'member', 'analyst', 'admin')),
            member_id TEXT REFERENCES members(id), desk TEXT, name TEXT, created_at TEXT NOT NULL,
            revoked_at TEXT,
            CHECK (role != 'member' OR member_id IS NOT NULL), CHECK (role != 'desk' OR desk IS NOT NULL))""",
        """CREATE TABLE personal_data_reads (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL, key_id INTEGER,
            referral_id INTEGER REFERENCES referrals(id), enterprise_id INTEGER REFERENCES enterprises(id),
            fields TEXT NOT NULL, action TEXT NOT NULL)""",
        """CREATE INDEX idx_personal_reads_referral ON personal_data_reads(referral_id)""",
        """CREATE TRIGGER personal_data_reads_no_update BEFORE UPDATE ON personal_data_reads
            BEGIN SELECT RAISE(ABORT, 'the personal-data read log is append-only'); END""",
        """CREATE TRIGGER personal_data_reads_no_delete BEFORE DELETE ON personal_data_reads
            BEGIN SELECT RAISE(ABORT, 'the personal-data read log is append-only'); END""",
        """ALTER TABLE referral_legs ADD COLUMN replaces_leg_id INTEGER REFERENCES referral_legs(id)""",
        """ALTER TABLE referrals ADD COLUMN request_hash TEXT""",
        """CREATE INDEX idx_referrals_desk ON referrals(desk, created_at)""",
        """CREATE INDEX idx_cases_enterprise ON cases(enterprise_id)""",
    ],
    # 4 -> 5: trained models of the engine (the success scorer), versioned, with what they were trained on.
    [
        """CREATE TABLE models (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL,
            params TEXT NOT NULL, trained_on TEXT NOT NULL, metrics TEXT, UNIQUE (name, version))""",
    ],
    # 5 -> 6: the member directory: an agency's public address and opening hours (hours in the canonical form of
    # matcher/hours.py, e.g. "Mo-Fr 08:30-16:30").
    [
        """ALTER TABLE agencies ADD COLUMN address TEXT""",
        """ALTER TABLE agencies ADD COLUMN hours TEXT""",
    ],
]


def _recompute_referral_status(db) -> None:
    """Data step of the referral-loop migration: each referral's needs and its true status."""
    from .progress import recompute_all
    recompute_all(db)


MIGRATIONS += [
    # 6 -> 7: the referral loop: each need's status, legs that wait for the plan's prerequisites (``step`` is
    # the plan step), the times the KPIs and the overdue rules read, the public tracking code, the
    # enterprise's satisfaction, notifications with their outbox of deliveries, and who wants which channel.
    [
        """CREATE TABLE referral_needs (
            referral_id INTEGER NOT NULL REFERENCES referrals(id), need TEXT NOT NULL, position INTEGER NOT NULL,
            step INTEGER NOT NULL DEFAULT 1, prerequisites TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL,
            detail TEXT, leg_id INTEGER REFERENCES referral_legs(id), closed_reason TEXT, closed_note TEXT,
            closed_by TEXT, closed_at TEXT, met_at TEXT, updated_at TEXT, PRIMARY KEY (referral_id, need))""",
        """CREATE INDEX idx_referral_needs_status ON referral_needs(status)""",
        """CREATE INDEX idx_events_leg ON referral_events(leg_id)""",
        """ALTER TABLE referral_legs ADD COLUMN sent_at TEXT""",
        """ALTER TABLE referral_legs ADD COLUMN accepted_at TEXT""",
        """ALTER TABLE referral_legs ADD COLUMN finished_at TEXT""",
        """ALTER TABLE referral_legs ADD COLUMN overdue TEXT""",
        """ALTER TABLE referrals ADD COLUMN tracking_code TEXT""",
        """ALTER TABLE referrals ADD COLUMN satisfaction INTEGER CHECK (satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5)""",
        """ALTER TABLE referrals ADD COLUMN satisfaction_note TEXT""",
        """ALTER TABLE referrals ADD COLUMN satisfaction_at TEXT""",
        """CREATE TABLE notification_settings (
            recipient TEXT PRIMARY KEY, email TEXT, webhook_url TEXT, webhook_secret TEXT,
            channels TEXT NOT NULL DEFAULT '[]', language TEXT NOT NULL DEFAULT 'th' CHECK (language IN ('th', 'en')),
            updated_at TEXT NOT NULL)""",
        """CREATE TABLE notifications (
            id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, kind TEXT NOT NULL,
            referral_id INTEGER NOT NULL REFERENCES referrals(id), leg_id INTEGER REFERENCES referral_legs(id),
            event_id INTEGER REFERENCES referral_events(id), data TEXT, created_at TEXT NOT NULL, read_at TEXT)""",
        """CREATE INDEX idx_notifications_recipient ON notifications(recipient, read_at)""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL UNIQUE,
            notification_id INTEGER NOT NULL REFERENCES notifications(id),
            channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0, created_ts REAL NOT NULL, next_attempt_ts REAL NOT NULL,
            claimed_until_ts REAL, last_error TEXT, delivered_ts REAL)""",
        """CREATE INDEX idx_outbox_due ON outbox(status, next_attempt_ts)""",
        """UPDATE referral_legs SET step = 1""",  # every leg so far was sent at once: the plan's first step
        """UPDATE referrals SET tracking_code = upper(hex(randomblob(8)))""",
        """CREATE UNIQUE INDEX idx_referrals_tracking ON referrals(tracking_code)""",
        _recompute_referral_status,
    ],
    # 7 -> 8: recommendations measured on true outcomes: the synthetic generator's hidden quality of each member
    # (read only by the engine's evaluation against the truth, never by the engine).
    [
        """CREATE TABLE demo_truth_members (
            member_id TEXT PRIMARY KEY REFERENCES members(id), quality REAL NOT NULL)""",
    ],
    # 8 -> 9: hardening: the session key every worker shares, desk sessions that end on sign-out, rate-limit
    # counters shared by the workers, and the desk user named in the personal-data read log.
    [
        """CREATE TABLE app_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at TEXT NOT NULL)""",
        """CREATE TABLE desk_sessions (
            token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL, seen_at TEXT NOT NULL, expires_at TEXT NOT NULL)""",
        """CREATE INDEX idx_desk_sessions_user ON desk_sessions(user_id)""",
        """CREATE INDEX idx_desk_sessions_expires ON desk_sessions(expires_at)""",
        """CREATE TABLE rate_counts (
            slot INTEGER NOT NULL, bucket TEXT NOT NULL, subject TEXT NOT NULL, hits INTEGER NOT NULL,
            PRIMARY KEY (slot, bucket, subject)) WITHOUT ROWID""",
        """ALTER TABLE personal_data_reads ADD COLUMN user_id INTEGER REFERENCES users(id)""",
    ],
    # 9 -> 10: intake: the desk's corrections of the suggested needs. One row per case, written with the case (so
    # under the same consent); the text stays in cases.text and goes with the case.
    [
        """CREATE TABLE intake_corrections (
            id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL UNIQUE REFERENCES cases(id) ON DELETE CASCADE,
            suggested TEXT NOT NULL, chosen TEXT NOT NULL, model TEXT, desk TEXT, created_at TEXT NOT NULL)""",
    ],
    # 10 -> 11: desk: the draft of a new case kept between its steps (each step is a page of its own, so
    # reload and Back are safe); short-lived, deleted when stale, emptied once sent.
    [
        """CREATE TABLE case_drafts (
            token TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            data TEXT, referral_id INTEGER, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)""",
        """CREATE INDEX idx_case_drafts_updated ON case_drafts(updated_at)""",
    ],
    # 11 -> 12: incremental refresh: every change to a referral leg (inserted, moved, deleted) is journaled by
    # triggers in the writing transaction, so that each worker applies only the changes since its snapshot.
    [
        """CREATE TABLE leg_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL CHECK (kind IN ('insert', 'update', 'delete')),
            leg_id INTEGER NOT NULL, referral_id INTEGER NOT NULL, member_id TEXT NOT NULL,
            old_member_id TEXT, old_status TEXT, new_status TEXT, old_value REAL, new_value REAL,
            old_needs TEXT, needs TEXT NOT NULL, created_at TEXT)""",
        """CREATE TRIGGER leg_changes_insert AFTER INSERT ON referral_legs BEGIN
            INSERT INTO leg_changes (kind, leg_id, referral_id, member_id, new_status, new_value, needs, created_at)
            VALUES ('insert', NEW.id, NEW.referral_id, NEW.member_id, NEW.status, NEW.value_baht, NEW.needs,
                    NEW.created_at); END""",
        """CREATE TRIGGER leg_changes_update AFTER UPDATE OF status, value_baht, needs, member_id, referral_id
            ON referral_legs WHEN OLD.status IS NOT NEW.status OR OLD.value_baht IS NOT NEW.value_baht
            OR OLD.needs IS NOT NEW.needs OR OLD.member_id IS NOT NEW.member_id
            OR OLD.referral_id IS NOT NEW.referral_id BEGIN
            INSERT INTO leg_changes (kind, leg_id, referral_id, member_id, old_member_id, old_status, new_status,
                                     old_value, new_value, old_needs, needs, created_at)
            VALUES (CASE WHEN OLD.referral_id IS NEW.referral_id THEN 'update' ELSE 'delete' END, NEW.id,
                    NEW.referral_id, NEW.member_id, OLD.member_id, OLD.status, NEW.status, OLD.value_baht,
                    NEW.value_baht, OLD.needs, NEW.needs, NEW.created_at); END""",
        """CREATE TRIGGER leg_changes_delete AFTER DELETE ON referral_legs BEGIN
            INSERT INTO leg_changes (kind, leg_id, referral_id, member_id, old_member_id, old_status, old_value,
                                     old_needs, needs, created_at)
            VALUES ('delete', OLD.id, OLD.referral_id, OLD.member_id, OLD.member_id, OLD.status, OLD.value_baht,
                    OLD.needs, OLD.needs, OLD.created_at); END""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
