-- Switchboard store, schema version 8: the payload word index moves to a file of its own,
-- `<database>-words` (`sqlite/words_file.rs`), written by its own connection on its own thread,
-- so an index pass never holds the batch transaction the acks wait for. The words stored here
-- are dropped; the indexer there starts from the first event. `words_file.generation` binds that
-- file to this one (a backup copy gets a new one, so a restored backup indexes afresh).
-- Deleting an event (retention) queues its id in `words_forgotten`: the indexer deletes its
-- words from the index file, then the id from the queue.
DROP TRIGGER events_forget_words;
DROP TABLE event_words;
DROP TABLE word_index;
CREATE TABLE words_file (generation TEXT NOT NULL);
INSERT INTO words_file (generation) VALUES (lower(hex(randomblob(16))));
CREATE TABLE words_forgotten (id INTEGER PRIMARY KEY);
CREATE TRIGGER events_forget_words AFTER DELETE ON events BEGIN
    INSERT OR IGNORE INTO words_forgotten (id) VALUES (old.id);
END;
