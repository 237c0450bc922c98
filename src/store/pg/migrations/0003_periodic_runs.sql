-- backline's PostgreSQL schema, version 3 (issue 16: periodic work on one replica at a time).
-- When each periodic job last started and finished, on whichever replica held it, so that it
-- runs once per period across the replicas and a replica taking a job over knows whether the
-- one before it had just run it (a start after the last finish: that run never finished).
ALTER TABLE leaders
    ADD COLUMN last_started_ms  bigint,
    ADD COLUMN last_finished_ms bigint;
