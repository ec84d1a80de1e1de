-- Switchboard store, schema version 6: fewer index pages written per run.
-- `runs_status (status, updated_at)` served only finished runs (retention by age, the failures
-- per connection since a time), yet every claim and finish moved an entry in it. It now holds
-- finished runs only: a run enters it once, when it finishes. Queries that read it repeat the
-- index's condition (`FINISHED_RUN` in `shared_sql.rs`) so the planner may use it; counts and
-- pages per status read `runs_status_id`.
DROP INDEX runs_status;
CREATE INDEX runs_done ON runs (status, updated_at)
    WHERE status NOT IN ('queued', 'running', 'retrying');
-- Claiming reads only the queued heads (state 0), oldest lane position first; a claim used to
-- move the head's entry to state 2 and its finish to delete it. Now the claim only deletes it.
DROP INDEX lanes_ready;
CREATE INDEX lanes_ready ON lanes (head_seq) WHERE state = 0;
