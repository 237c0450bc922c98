-- backline's PostgreSQL schema, version 1 (issue 16). Applied once, in a transaction, by
-- src/store/pg/migrate.rs; never edited after release: a change is a new numbered file.

-- The delivery intake (src/inbox.rs on sled): one row per accepted delivery. The dedupe key is
-- unique, so the same delivery sent to two replicas is stored once.
CREATE TABLE deliveries (
    seq                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key         text    NOT NULL UNIQUE,
    kind               text    NOT NULL,
    project            bigint,
    lane               bigint  NOT NULL,
    event_uuid         text,
    verified_by        text    NOT NULL,
    body_len           bigint  NOT NULL,
    state              text    NOT NULL
        CHECK (state IN ('queued', 'processing', 'failed', 'done', 'dead')),
    attempts           integer NOT NULL DEFAULT 0,
    received_at_ms     bigint  NOT NULL,
    finished_at_ms     bigint,
    next_attempt_at_ms bigint,
    outcome            text,
    last_error         text
);
CREATE INDEX deliveries_state_seq ON deliveries (state, seq);
CREATE INDEX deliveries_done_finished ON deliveries (finished_at_ms) WHERE state = 'done';

-- Raw (compressed) bodies, kept until the delivery is done.
CREATE TABLE payloads (
    seq  bigint PRIMARY KEY REFERENCES deliveries (seq) ON DELETE CASCADE,
    body bytea  NOT NULL
);

-- The work queue: one row per pending delivery. A replica claims a row by writing its lease;
-- a lease past its time is free to take over. Only the oldest row of a lane is ever claimed,
-- so a project's deliveries run one at a time, in order, across replicas.
CREATE TABLE inbox (
    seq            bigint PRIMARY KEY REFERENCES deliveries (seq) ON DELETE CASCADE,
    lane           bigint NOT NULL,
    not_before_ms  bigint NOT NULL DEFAULT 0,
    leased_by      text,
    lease_until_ms bigint,
    lease_token    bigint
);
CREATE INDEX inbox_lane_seq ON inbox (lane, seq);

-- The fencing tokens of leases: each claim gets a new one, so a replica whose lease was taken
-- over cannot finish the delivery after the new holder started it.
CREATE SEQUENCE lease_tokens;

CREATE TABLE dead_letters (
    seq    bigint PRIMARY KEY REFERENCES deliveries (seq) ON DELETE CASCADE,
    reason text   NOT NULL,
    at_ms  bigint NOT NULL
);

-- Periodic work (catalog sync, advisory sync, reconcile, pruning): who runs it now, until when.
CREATE TABLE leaders (
    job            text   PRIMARY KEY,
    holder         text   NOT NULL,
    lease_until_ms bigint NOT NULL,
    term           bigint NOT NULL
);

-- Every other sled tree, one table each, holding the same postcard values under the same keys.
CREATE TABLE kv_projects          (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_project_paths     (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_project_heads     (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_manifests         (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_findings          (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_outdated          (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_remediations      (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_remediation_keys  (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_note_commands     (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_refusal_replies   (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_mr_checks         (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_advisories        (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_sessions          (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE kv_meta              (key bytea PRIMARY KEY, value bytea NOT NULL);
