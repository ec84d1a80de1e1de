-- Switchboard store, schema version 4: the payload word index is fed off the intake path.
-- `word_index.watermark` is the highest event id whose words are in `event_words`: a background
-- indexer (`sqlite/words.rs`) indexes the events above it in batches and moves it in the same
-- transaction; a text filter tokenises the few events above it itself. It starts at 0, so the
-- events stored before version 3 (never indexed) are indexed too; the words version 3 wrote at
-- intake are dropped and written again the same way, so no event is indexed twice.
CREATE TABLE word_index (watermark INTEGER NOT NULL);
INSERT INTO word_index (watermark) VALUES (0);
INSERT INTO event_words (event_words) VALUES ('delete-all');
