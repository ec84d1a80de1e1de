-- Switchboard store, schema version 7: fewer bytes per run.
-- Events: the unique index holds a 16-byte digest of the dedupe key (`dedupe`, the first 16
-- bytes of its SHA-256) instead of its text, and the text is NULL when the payload carries it
-- at `event.dedupe_key` (see `sqlite/dedupe.rs`). Before this script, the migration computes the
-- digests of the stored keys in Rust into `temp.event_digests`; migrated rows keep their text.
CREATE TABLE events_v7 (
    id            INTEGER PRIMARY KEY,
    dedupe        BLOB    NOT NULL UNIQUE,
    dedupe_key    TEXT,
    kind          TEXT    NOT NULL,
    connection_id INTEGER,
    chat_id       INTEGER,
    payload       TEXT    NOT NULL,
    received_at   INTEGER NOT NULL
);
INSERT INTO events_v7 (id, dedupe, dedupe_key, kind, connection_id, chat_id, payload, received_at)
    SELECT e.id, d.digest, e.dedupe_key, e.kind, e.connection_id, e.chat_id, e.payload,
        e.received_at
    FROM events e JOIN temp.event_digests d ON d.id = e.id;
DROP TABLE events;
DROP TABLE temp.event_digests;
ALTER TABLE events_v7 RENAME TO events;
CREATE INDEX events_chat ON events (connection_id, chat_id) WHERE chat_id IS NOT NULL;
CREATE INDEX events_connection ON events (connection_id) WHERE connection_id IS NOT NULL;
CREATE INDEX events_connection_status ON events (connection_id)
    WHERE kind = 'connection.status-changed';
CREATE TRIGGER events_forget_words AFTER DELETE ON events BEGIN
    DELETE FROM event_words WHERE rowid = old.id;
END;

-- Attempts: the node and plugin digest, the same for most attempts, are one reference to
-- `attempt_sources` (rows never deleted, so an id stays valid); no plugin digest is stored as
-- the empty BLOB, so the pair is unique.
CREATE TABLE attempt_sources (
    id            INTEGER PRIMARY KEY,
    node          TEXT NOT NULL,
    plugin_digest BLOB NOT NULL,
    UNIQUE (node, plugin_digest)
);
INSERT OR IGNORE INTO attempt_sources (node, plugin_digest)
    SELECT DISTINCT node, coalesce(plugin_digest, x'') FROM attempts;
CREATE TABLE attempts_v7 (
    run_id      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    error       TEXT,
    started_at  INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    source      INTEGER NOT NULL,
    detail      TEXT,
    PRIMARY KEY (run_id, attempt)
) WITHOUT ROWID;
INSERT INTO attempts_v7 (run_id, attempt, status, error, started_at, duration_us, source, detail)
    SELECT a.run_id, a.attempt, a.status, a.error, a.started_at, a.duration_us, s.id, a.detail
    FROM attempts a JOIN attempt_sources s
        ON s.node = a.node AND s.plugin_digest = coalesce(a.plugin_digest, x'');
DROP TABLE attempts;
ALTER TABLE attempts_v7 RENAME TO attempts;
