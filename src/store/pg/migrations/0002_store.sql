-- backline's PostgreSQL schema, version 2 (issue 16: `serve` on PostgreSQL). The store's ids
-- (Store::next_id, shared by the replicas) and the trees version 1 did not have.
CREATE SEQUENCE store_ids START WITH 1;
CREATE TABLE kv_policies  (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_pipelines (key bytea PRIMARY KEY, value bytea NOT NULL);
