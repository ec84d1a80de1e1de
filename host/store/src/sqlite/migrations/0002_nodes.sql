-- Switchboard store, schema version 2: node leases. Times are microseconds since the Unix epoch.
-- A node heartbeats to move `lease_until` forward; a node whose lease has passed (or that left)
-- is dead, and its runs left `running` are recovered.

CREATE TABLE nodes (
    node         TEXT    PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    lease_until  INTEGER NOT NULL,
    left_at      INTEGER
) WITHOUT ROWID;

-- Finds a node's running runs without scanning every run (PostgreSQL has it since version 1).
CREATE INDEX runs_running_node ON runs (node) WHERE status = 'running';
