-- Switchboard store, schema version 9: packed texts are written in format 3 (`sqlite/packing.rs`:
-- format 2's dictionary with zstd's entropy tables). No table changes; the version is raised so
-- that a build that cannot read format 3 refuses this file instead of failing on its rows.
SELECT 1;
