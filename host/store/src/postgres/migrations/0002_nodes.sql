-- Switchboard store, schema version 2: node leases. Times are microseconds since the Unix epoch.
-- A node heartbeats to move `lease_until` forward; a node whose lease has passed (or that left)
-- is dead, and any live node recovers the runs it left `running`.

CREATE TABLE nodes (
    node         TEXT   PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    lease_until  BIGINT NOT NULL,
    left_at      BIGINT
);
