-- Switchboard store, schema version 4: what the dashboard searches and looks up.
-- `events.words` holds the words of the event's payload (`search.rs` makes them: distinct,
-- lowercased, values only), GIN indexed, for the runs list's text filter (`words @> query`).
-- The SQLite backend indexes the same words, so both find the same runs. Events stored before
-- version 4 have none.
ALTER TABLE events ADD COLUMN words TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX events_words ON events USING gin (words);

-- A connection's newest event, and its newest status event, by index (the connections page).
CREATE INDEX events_connection ON events (connection_id, id) WHERE connection_id IS NOT NULL;
CREATE INDEX events_connection_status ON events (connection_id, id)
    WHERE kind = 'connection.status-changed';
