-- Switchboard store, schema version 6: the runs of one status, newest first, in an index, so a
-- status-filtered page of the history reads its rows without sorting every run of that status
-- (`runs_status` orders them by update time, for retention).
CREATE INDEX runs_status_id ON runs (status, id);
