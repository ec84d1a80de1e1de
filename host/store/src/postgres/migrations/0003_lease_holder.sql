-- Switchboard store, schema version 3: the process that holds a node's lease. Each `serve`
-- process takes its node's lease under a token of its own; a heartbeat renews only the holder's
-- lease, and claims are refused to any other process using the node's name. A process cut off
-- for longer than its lease, whose node id another process took meanwhile, learns it lost the
-- lease instead of renewing it beside the new holder. '' means "no holder recorded" (rows
-- written before this version): the next heartbeat or take records one.

ALTER TABLE nodes ADD COLUMN holder TEXT NOT NULL DEFAULT '';
