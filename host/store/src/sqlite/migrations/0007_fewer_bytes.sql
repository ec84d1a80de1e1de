-- Switchboard store, schema version 7: fewer bytes per run.
-- Events: the unique index holds a 16-byte digest of the dedupe key (`dedupe`, the first 16
-- bytes of its SHA-256) instead of its text, and the text is NULL when the payload carries it
-- at `event.dedupe_key` (see `sqlite/dedupe.rs`). Before this script, the migration computes the
-- digests of the stored keys in Rust into `temp.event_digests`; migrated rows keep their text.
-- The kind is an id of `names` (below); `connection.status-changed` is id 1 and
-- `messages.send` id 2, so the partial indexes `events_connection_status` and `ledger_pending`
-- name them as constants (`names::STATUS_KIND`, `names::SEND_KIND`).
CREATE TABLE names (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
);
INSERT INTO names (id, name) VALUES (1, 'connection.status-changed'), (2, 'messages.send');
INSERT OR IGNORE INTO names (name) SELECT DISTINCT kind FROM events;
CREATE TABLE events_v7 (
    id            INTEGER PRIMARY KEY,
    dedupe        BLOB    NOT NULL UNIQUE,
    dedupe_key    TEXT,
    kind          INTEGER NOT NULL,
    connection_id INTEGER,
    chat_id       INTEGER,
    payload       TEXT    NOT NULL,
    received_at   INTEGER NOT NULL
);
INSERT INTO events_v7 (id, dedupe, dedupe_key, kind, connection_id, chat_id, payload, received_at)
    SELECT e.id, d.digest, e.dedupe_key, (SELECT n.id FROM names n WHERE n.name = e.kind),
        e.connection_id, e.chat_id, e.payload, e.received_at
    FROM events e JOIN temp.event_digests d ON d.id = e.id;
DROP TABLE events;
DROP TABLE temp.event_digests;
ALTER TABLE events_v7 RENAME TO events;
CREATE INDEX events_chat ON events (connection_id, chat_id) WHERE chat_id IS NOT NULL;
CREATE INDEX events_connection ON events (connection_id) WHERE connection_id IS NOT NULL;
CREATE INDEX events_connection_status ON events (connection_id)
    WHERE kind = 1;
CREATE TRIGGER events_forget_words AFTER DELETE ON events BEGIN
    DELETE FROM event_words WHERE rowid = old.id;
END;

-- Attempts: the node and plugin digest, the same for most attempts, are one reference to
-- `attempt_sources` (rows never deleted, so an id stays valid); no plugin digest is stored as
-- the empty BLOB, so the pair is unique. The status is an id of `names`.
CREATE TABLE attempt_sources (
    id            INTEGER PRIMARY KEY,
    node          TEXT NOT NULL,
    plugin_digest BLOB NOT NULL,
    UNIQUE (node, plugin_digest)
);
INSERT OR IGNORE INTO attempt_sources (node, plugin_digest)
    SELECT DISTINCT node, coalesce(plugin_digest, x'') FROM attempts;
INSERT OR IGNORE INTO names (name) SELECT DISTINCT status FROM attempts;
CREATE TABLE attempts_v7 (
    run_id      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT,
    started_at  INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    source      INTEGER NOT NULL,
    detail      TEXT,
    PRIMARY KEY (run_id, attempt)
) WITHOUT ROWID;
INSERT INTO attempts_v7 (run_id, attempt, status, error, started_at, duration_us, source, detail)
    SELECT a.run_id, a.attempt, (SELECT n.id FROM names n WHERE n.name = a.status), a.error,
        a.started_at, a.duration_us, s.id, a.detail
    FROM attempts a JOIN attempt_sources s
        ON s.node = a.node AND s.plugin_digest = coalesce(a.plugin_digest, x'');
DROP TABLE attempts;
ALTER TABLE attempts_v7 RENAME TO attempts;

-- Runs: the plugin, origin and node names are ids of `names` (see `sqlite/names.rs`).
INSERT OR IGNORE INTO names (name)
    SELECT plugin FROM runs UNION SELECT origin FROM runs
    UNION SELECT node FROM runs WHERE node IS NOT NULL;
CREATE TABLE runs_v7 (
    id           INTEGER PRIMARY KEY,
    event_id     INTEGER NOT NULL,
    plugin       INTEGER NOT NULL,
    lane         TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    budget       INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    origin       INTEGER NOT NULL,
    is_replay    INTEGER NOT NULL DEFAULT 0,
    not_before   INTEGER,
    node         INTEGER,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
INSERT INTO runs_v7 (id, event_id, plugin, lane, seq, status, attempt, budget, max_attempts,
        origin, is_replay, not_before, node, error, created_at, updated_at)
    SELECT r.id, r.event_id, (SELECT n.id FROM names n WHERE n.name = r.plugin), r.lane, r.seq,
        r.status, r.attempt, r.budget, r.max_attempts,
        (SELECT n.id FROM names n WHERE n.name = r.origin), r.is_replay, r.not_before,
        (SELECT n.id FROM names n WHERE n.name = r.node), r.error, r.created_at, r.updated_at
    FROM runs r;
DROP TABLE runs;
ALTER TABLE runs_v7 RENAME TO runs;
CREATE INDEX runs_event ON runs (event_id);
CREATE INDEX runs_open ON runs (lane, seq) WHERE status IN ('queued', 'running', 'retrying');
CREATE INDEX runs_plugin ON runs (plugin);
CREATE INDEX runs_running_node ON runs (node) WHERE status = 'running';
CREATE INDEX runs_status_id ON runs (status, id);
CREATE INDEX runs_done ON runs (status, updated_at)
    WHERE status NOT IN ('queued', 'running', 'retrying');

-- Ledger: the kind of each action is an id of `names`.
INSERT OR IGNORE INTO names (name) SELECT DISTINCT kind FROM ledger;
CREATE TABLE ledger_v7 (
    run_id        INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    kind          INTEGER NOT NULL,
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
INSERT INTO ledger_v7 (run_id, seq, kind, fingerprint, request, connection_id, chat_id,
        intent_at, result, effect_id, decision)
    SELECT l.run_id, l.seq, (SELECT n.id FROM names n WHERE n.name = l.kind), l.fingerprint,
        l.request, l.connection_id, l.chat_id, l.intent_at, l.result, l.effect_id, l.decision
    FROM ledger l;
DROP TABLE ledger;
ALTER TABLE ledger_v7 RENAME TO ledger;
CREATE INDEX ledger_effect ON ledger (effect_id) WHERE effect_id IS NOT NULL;
CREATE INDEX ledger_pending ON ledger (connection_id, chat_id)
    WHERE result IS NULL AND kind = 2;
