-- Switchboard store on PostgreSQL, schema version 1: the same logical schema as SQLite's.
-- Times are microseconds since the Unix epoch (UTC) in BIGINT, so every `DateTime<Utc>` the
-- trait accepts round-trips exactly. Ids are BIGSERIALs: never reused after a purge.

CREATE TABLE events (
    id            BIGSERIAL PRIMARY KEY,
    dedupe_key    TEXT   NOT NULL UNIQUE,
    kind          TEXT   NOT NULL,
    connection_id BIGINT,
    chat_id       BIGINT,
    payload       TEXT   NOT NULL,
    received_at   BIGINT NOT NULL
);
CREATE INDEX events_chat ON events (connection_id, chat_id) WHERE chat_id IS NOT NULL;

-- Lane positions (`runs.seq`); taken while holding the lane's row lock, so within a lane the
-- order of `seq` is the commit order.
CREATE SEQUENCE lane_seq;

CREATE TABLE runs (
    id           BIGSERIAL PRIMARY KEY,
    event_id     BIGINT  NOT NULL,
    plugin       TEXT    NOT NULL,
    lane         TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    status       TEXT    NOT NULL,
    attempt      BIGINT  NOT NULL DEFAULT 0,
    budget       BIGINT  NOT NULL,
    max_attempts BIGINT  NOT NULL,
    origin       TEXT    NOT NULL,
    is_replay    BOOLEAN NOT NULL DEFAULT FALSE,
    not_before   BIGINT,
    node         TEXT,
    error        TEXT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX runs_event ON runs (event_id);
CREATE INDEX runs_open ON runs (lane, seq) WHERE status IN ('queued', 'running', 'retrying');
CREATE INDEX runs_status ON runs (status, updated_at);
CREATE INDEX runs_plugin ON runs (plugin);
CREATE INDEX runs_running_node ON runs (node) WHERE status = 'running';

-- The head (oldest unfinished run) of every lane that has one. The row is also the lane's lock:
-- every transaction that changes a lane's runs locks it first (claimers with SKIP LOCKED).
-- state: 0 = head is queued (claimable), 1 = head is retrying until wake_at, 2 = head is running.
CREATE TABLE lanes (
    lane     TEXT     PRIMARY KEY,
    head     BIGINT   NOT NULL,
    head_seq BIGINT   NOT NULL,
    state    SMALLINT NOT NULL,
    wake_at  BIGINT
);
CREATE INDEX lanes_ready ON lanes (state, head_seq);
CREATE INDEX lanes_waiting ON lanes (wake_at) WHERE state = 1;

CREATE TABLE attempts (
    run_id        BIGINT NOT NULL,
    attempt       BIGINT NOT NULL,
    status        TEXT   NOT NULL,
    error         TEXT,
    started_at    BIGINT NOT NULL,
    duration_us   BIGINT NOT NULL,
    node          TEXT   NOT NULL,
    plugin_digest TEXT,
    detail        TEXT,
    PRIMARY KEY (run_id, attempt)
);

CREATE TABLE ledger (
    run_id        BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    kind          TEXT   NOT NULL,
    fingerprint   TEXT   NOT NULL,
    request       TEXT   NOT NULL,
    connection_id BIGINT,
    chat_id       BIGINT,
    intent_at     BIGINT NOT NULL,
    result        TEXT,
    effect_id     TEXT,
    decision      TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX ledger_effect ON ledger (effect_id) WHERE effect_id IS NOT NULL;
CREATE INDEX ledger_pending ON ledger (connection_id, chat_id)
    WHERE result IS NULL AND kind = 'messages.send';

CREATE TABLE quarantine (
    id          BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    reason      TEXT   NOT NULL,
    headers     TEXT   NOT NULL,
    body        BYTEA  NOT NULL
);

-- Keys compare and sort in byte order whatever the database's collation.
CREATE TABLE kv (
    ns    TEXT COLLATE "C" NOT NULL,
    key   TEXT COLLATE "C" NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (ns, key)
);

CREATE TABLE uploads (
    company_id BIGINT NOT NULL,
    sha256     TEXT   NOT NULL,
    url        TEXT   NOT NULL,
    PRIMARY KEY (company_id, sha256)
);

CREATE TABLE schedule_slots (
    schedule_key TEXT   NOT NULL,
    slot         BIGINT NOT NULL,
    run_id       BIGINT NOT NULL,
    PRIMARY KEY (schedule_key, slot)
);
CREATE INDEX schedule_slots_run ON schedule_slots (run_id);

CREATE TABLE schedules (
    schedule_key TEXT   PRIMARY KEY,
    last_slot    BIGINT,
    fired        BIGINT NOT NULL DEFAULT 0,
    caught_up    BIGINT NOT NULL DEFAULT 0,
    skipped      BIGINT NOT NULL DEFAULT 0,
    missed       BIGINT NOT NULL DEFAULT 0
);
