-- Switchboard store, schema version 1. Times are microseconds since the Unix epoch (UTC).
-- Event and run ids come from the `counters` table, so they are never reused after a purge
-- (like a BIGSERIAL).

CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    dedupe_key    TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    connection_id INTEGER,
    chat_id       INTEGER,
    payload       TEXT    NOT NULL,
    received_at   INTEGER NOT NULL
);
CREATE INDEX events_chat ON events (connection_id, chat_id) WHERE chat_id IS NOT NULL;

-- One row per run. `seq` orders a lane (a replay moves the run to the end); `budget` is the
-- attempts one round may take, `max_attempts` the effective limit (raised by each replay).
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    event_id     INTEGER NOT NULL,
    plugin       TEXT    NOT NULL,
    lane         TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    budget       INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    origin       TEXT    NOT NULL,
    is_replay    INTEGER NOT NULL DEFAULT 0,
    not_before   INTEGER,
    node         TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX runs_event ON runs (event_id);
CREATE INDEX runs_open ON runs (lane, seq) WHERE status IN ('queued', 'running', 'retrying');
CREATE INDEX runs_status ON runs (status, updated_at);
CREATE INDEX runs_plugin ON runs (plugin);

-- Named counters kept across processes: the last `runs.seq`, `events.id` and `runs.id` handed
-- out. The writer reads them after BEGIN IMMEDIATE and writes them back before COMMIT, so two
-- processes writing the same file (the service and a CLI replay) never hand out the same value.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('lane_seq', 0), ('event_id', 0), ('run_id', 0);

-- The head (oldest unfinished run) of every lane that has one, so claiming never scans runs.
-- state: 0 = head is queued (claimable), 1 = head is retrying until wake_at, 2 = head is running.
CREATE TABLE lanes (
    lane     TEXT    PRIMARY KEY,
    head     INTEGER NOT NULL,
    head_seq INTEGER NOT NULL,
    state    INTEGER NOT NULL,
    wake_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX lanes_ready ON lanes (state, head_seq);
CREATE INDEX lanes_waiting ON lanes (state, wake_at) WHERE state = 1;

-- One row per attempt; its actions and logs in one compact JSON value (`detail`).
CREATE TABLE attempts (
    run_id        INTEGER NOT NULL,
    attempt       INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    error         TEXT,
    started_at    INTEGER NOT NULL,
    duration_us   INTEGER NOT NULL,
    node          TEXT    NOT NULL,
    plugin_digest TEXT,
    detail        TEXT,
    PRIMARY KEY (run_id, attempt)
) WITHOUT ROWID;

CREATE TABLE ledger (
    run_id        INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    request       TEXT    NOT NULL,
    connection_id INTEGER,
    chat_id       INTEGER,
    intent_at     INTEGER NOT NULL,
    result        TEXT,
    effect_id     TEXT,
    decision      TEXT,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX ledger_effect ON ledger (effect_id) WHERE effect_id IS NOT NULL;
CREATE INDEX ledger_pending ON ledger (connection_id, chat_id)
    WHERE result IS NULL AND kind = 'messages.send';

CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    headers     TEXT    NOT NULL,
    body        BLOB    NOT NULL
);

CREATE TABLE kv (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

CREATE TABLE uploads (
    company_id INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    PRIMARY KEY (company_id, sha256)
) WITHOUT ROWID;

CREATE TABLE schedule_slots (
    schedule_key TEXT    NOT NULL,
    slot         INTEGER NOT NULL,
    run_id       INTEGER NOT NULL,
    PRIMARY KEY (schedule_key, slot)
) WITHOUT ROWID;
CREATE INDEX schedule_slots_run ON schedule_slots (run_id);

CREATE TABLE schedules (
    schedule_key TEXT    PRIMARY KEY,
    last_slot    INTEGER,
    fired        INTEGER NOT NULL DEFAULT 0,
    caught_up    INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    missed       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
