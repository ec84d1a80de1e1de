-- Switchboard store, schema version 3: what the dashboard searches and looks up.
-- `event_words` indexes the words of each event's payload (`search.rs` makes them: distinct,
-- lowercased, values only) for the runs list's text filter; payloads are stored packed, so the
-- index is fed at ingest and keeps no content of its own. Events stored before version 3 are
-- not in it. Deleting an event (retention) deletes its words.
CREATE VIRTUAL TABLE event_words USING fts5(
    words,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M* So'"
);
CREATE TRIGGER events_forget_words AFTER DELETE ON events BEGIN
    DELETE FROM event_words WHERE rowid = old.id;
END;

-- A connection's newest event, and its newest status event, by index (the connections page).
CREATE INDEX events_connection ON events (connection_id) WHERE connection_id IS NOT NULL;
CREATE INDEX events_connection_status ON events (connection_id)
    WHERE kind = 'connection.status-changed';
