-- Switchboard store, schema version 5: the payload word index is fed off the intake path.
-- `event_words` holds the words of every indexed event (a row even when it has none), GIN
-- indexed for the runs list's text filter; a background indexer (`postgres/words.rs`) writes
-- them for the events above `word_index.watermark`, and a text filter tokenises the few
-- unindexed events itself. The watermark starts at 0, so events stored before version 4
-- (never indexed) are indexed too; the words version 4 wrote at intake are kept.
-- No foreign key: its check would lock the events rows (FOR KEY SHARE), and retention, which
-- takes events with FOR UPDATE SKIP LOCKED, would skip them; a trigger forgets the words.
CREATE TABLE event_words (
    event_id BIGINT PRIMARY KEY,
    words    TEXT[] NOT NULL
);
INSERT INTO event_words (event_id, words) SELECT id, words FROM events WHERE words <> '{}';
CREATE INDEX event_words_words ON event_words USING gin (words);
ALTER TABLE events DROP COLUMN words;
CREATE FUNCTION switchboard_forget_words() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_words w USING gone g WHERE w.event_id = g.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_forget_words AFTER DELETE ON events REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION switchboard_forget_words();
CREATE TABLE word_index (watermark BIGINT NOT NULL);
INSERT INTO word_index (watermark) VALUES (0);

-- An event's id is taken after its transaction has an id of its own, so the indexer can tell
-- when every event up to an id has committed (see `postgres/words.rs`).
CREATE FUNCTION switchboard_event_id() RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN nextval('events_id_seq');
END
$$;
ALTER TABLE events ALTER COLUMN id SET DEFAULT switchboard_event_id();
