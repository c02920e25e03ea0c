-- provweb.sql: the provincial dashboard's users, sessions and audit trail in
-- schema ft, beside the engine's tables (engine.sql), so that every
-- provincial node on one database serves the same dashboard: a login made
-- on one node is valid on all, a logout on one ends it on all
-- (docs/province.md "Dashboard").
--
-- Applied by every provincial node at start and by `fieldtrail-hub user
-- --store` (compiled in), idempotent and serialised by an advisory lock.
-- Tables and columns are only ever added. ft.web_audit is append-only.

BEGIN;
SELECT pg_advisory_xact_lock(7400165);

-- A dashboard user: a role (staff, supervisor, admin) and the units whose
-- alerts, cases and counties they see (every unit when all_units).
CREATE TABLE IF NOT EXISTS ft.web_users (
    name text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('staff', 'supervisor', 'admin')),
    all_units boolean NOT NULL,
    units text[] NOT NULL,          -- as the counties' signed enrolments name them
    pwhash text NOT NULL,           -- Argon2id (libsodium crypto_pwhash_str)
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (all_units OR cardinality(units) > 0)
);

-- A live session: only the BLAKE2b-256 of its token is kept, so a copy of
-- the table gives no usable cookie. A user removed takes their sessions.
CREATE TABLE IF NOT EXISTS ft.web_sessions (
    token_hash bytea PRIMARY KEY,
    name text NOT NULL REFERENCES ft.web_users (name) ON DELETE CASCADE,
    csrf text NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_expires ON ft.web_sessions (expires_ms);

-- Logins, logouts, failed logins (aggregated) and user changes.
CREATE TABLE IF NOT EXISTS ft.web_audit (
    audit_no bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    node text NOT NULL,             -- the provincial node, or cli:USER for the command
    who text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    detail text NOT NULL
);
CREATE OR REPLACE TRIGGER web_audit_append_only BEFORE UPDATE OR DELETE ON ft.web_audit
    FOR EACH ROW EXECUTE FUNCTION ft.refuse_change();
CREATE OR REPLACE TRIGGER web_audit_no_truncate BEFORE TRUNCATE ON ft.web_audit
    FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change();

-- Last: nodes skip this file once they see this version (provweb.h).
INSERT INTO ft.meta (name, value) VALUES ('provweb_schema_version', '1')
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;

COMMIT;
