-- schema.sql: the provincial PostgreSQL schema `ft` that county hubs forward
-- into (docs/province.md has the tables, the columns and the rules).
--
-- Applied by every county hub's forwarder at start and by
-- `fieldtrail-hub province init-db`; idempotent (IF NOT EXISTS, CREATE OR
-- REPLACE) and serialised by an advisory lock, so a hundred hubs starting at
-- once do not race. Tables and columns are only ever added, never renamed.
--
-- Conventions:
--   * 64-bit unsigned numbers of the log (epoch, seq, hlc, arrival) are
--     stored as bigint with the same 64 bits: values of 2^63 and above (a
--     random epoch often is) read as negative; ft.u64(x) gives the number.
--   * `at` is the entry's own time (its hybrid logical clock, ms part), the
--     partition key: a retransmitted row has the same `at`, lands in the same
--     partition, and the primary key (which contains `at`) makes it conflict.
--   * Data tables are append-only: UPDATE and DELETE are refused by a trigger
--     (TRUNCATE of a parent too). Only ft.checkpoints changes in place.
--   * Partitions are one calendar month (UTC) each, made on demand by
--     ft.ensure_month (the forwarder calls it for the months of each batch).

BEGIN;
SET LOCAL client_min_messages = warning; -- no NOTICE per existing object
DO $$ BEGIN PERFORM pg_advisory_xact_lock(7400151); END $$;

CREATE SCHEMA IF NOT EXISTS ft;

CREATE TABLE IF NOT EXISTS ft.meta (
    name text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO ft.meta (name, value) VALUES ('schema_version', '1')
ON CONFLICT (name) DO NOTHING;

-- The unsigned value of a bigint holding a u64's bits.
CREATE OR REPLACE FUNCTION ft.u64(x bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT CASE WHEN x >= 0 THEN x::numeric ELSE x::numeric + 18446744073709551616 END $$;

-- The time of a hybrid logical clock value (ms << 16 | counter).
CREATE OR REPLACE FUNCTION ft.hlc_time(hlc bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT to_timestamp((ft.u64(hlc) / 65536 / 1000)::double precision) $$;

-- Refuses a change to an append-only table.
CREATE OR REPLACE FUNCTION ft.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'ft.%: % refused: forwarded rows are append-only evidence (docs/province.md)',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Makes the month partition of ft.<parent> that holds time t, if it is
-- missing: ft.<parent>_YYYYMM, FROM the first of the month (UTC) TO the
-- first of the next, with the TRUNCATE trigger row triggers do not clone.
-- Returns its name. One maker at a time per parent (lock_key, hashtext of
-- parent); a partition another maker committed between the check and the
-- CREATE (the lock does not refresh the catalog snapshot to_regclass reads)
-- is the outcome wanted. Called by ft.ensure_month and the provincial
-- node's ft.prov_month, which say which tables may be extended.
CREATE OR REPLACE FUNCTION ft.make_month(parent text, t timestamptz, lock_key integer)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    lo timestamptz := date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi timestamptz := (date_trunc('month', t AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    part text := parent || '_' || to_char(t AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
    IF to_regclass('ft.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(lock_key, hashtext(parent));
    IF to_regclass('ft.' || part) IS NULL THEN
        EXECUTE format('CREATE TABLE ft.%I PARTITION OF ft.%I FOR VALUES FROM (%L) TO (%L)',
                       part, parent, lo, hi);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ft.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change()',
                       part || '_no_truncate', part);
    END IF;
    RETURN part;
EXCEPTION WHEN duplicate_table OR duplicate_object OR unique_violation THEN
    RETURN part;
END
$$;

-- The month partition of a forwarded table (ft.make_month). SECURITY
-- DEFINER: a county's role, which may only insert, makes partitions owned by
-- the schema's owner (docs/operations.md "Provincial deployment").
CREATE OR REPLACE FUNCTION ft.ensure_month(parent text, t timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF parent NOT IN ('entries', 'hub_entries', 'media_files', 'file_keys') THEN
        RAISE EXCEPTION 'ft.ensure_month: % is not a partitioned table of ft', parent;
    END IF;
    RETURN ft.make_month(parent, t, 7400152);
END
$$;

-- Counties: one row per county hub, with the keys its hub log is signed by.
CREATE TABLE IF NOT EXISTS ft.counties (
    county text PRIMARY KEY,
    hub_device bytea NOT NULL,       -- the hub's device ID (10 bytes)
    hub_sign_pk bytea NOT NULL,      -- Ed25519: verifies its hub log entries
    hub_box_pk bytea NOT NULL,       -- Curve25519: its sync transport key
    hub_archive_pk bytea,            -- X25519: the county's archive key
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- Device log entries the county hub verified and committed, exactly as
-- signed (SignedEntry bytes).
CREATE TABLE IF NOT EXISTS ft.entries (
    device bytea NOT NULL,           -- 10-byte device ID
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,         -- ft.hlc_time(hlc)
    hlc bigint NOT NULL,
    county text NOT NULL,
    arrival bigint NOT NULL,         -- the county hub's arrival number
    kind text NOT NULL,              -- record, media, event, ... (Body's oneof)
    raw bytea NOT NULL,              -- SignedEntry bytes as received
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, epoch, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS entries_at_brin ON ft.entries USING brin (at);
CREATE INDEX IF NOT EXISTS entries_county_arrival ON ft.entries (county, arrival);

-- The county hub's own signed log (enrolments, alerts, audit, integrity,
-- deletions, key re-sealings), exactly as signed.
CREATE TABLE IF NOT EXISTS ft.hub_entries (
    device bytea NOT NULL,           -- the hub's device ID
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    hlc bigint NOT NULL,
    county text NOT NULL,
    kind text NOT NULL,
    raw bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, epoch, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS hub_entries_at_brin ON ft.hub_entries USING brin (at);
CREATE INDEX IF NOT EXISTS hub_entries_county_seq ON ft.hub_entries (county, epoch, seq);

-- Enrolments as the county hub holds them: one row when enrolled, one more
-- when revoked (the signed evidence is the Enrolment entry in hub_entries).
CREATE TABLE IF NOT EXISTS ft.enrolments (
    county text NOT NULL,
    device bytea NOT NULL,
    revoked boolean NOT NULL,
    sign_pk bytea NOT NULL,
    transport_pk bytea NOT NULL,
    unit text NOT NULL,
    vehicle text NOT NULL,
    at timestamptz NOT NULL,         -- enrolled_at, or revoked_at for a revocation row
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, device, revoked)
);

-- Media manifests (one row per manifest entry in ft.entries).
CREATE TABLE IF NOT EXISTS ft.media_files (
    file_id bytea NOT NULL,          -- 16 bytes
    at timestamptz NOT NULL,         -- the manifest entry's time
    county text NOT NULL,
    device bytea NOT NULL,
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    size bigint NOT NULL,
    chunk_size integer NOT NULL,
    n_chunks integer NOT NULL,
    merkle_root bytea NOT NULL,
    content_hash bytea NOT NULL,
    media_kind integer NOT NULL,     -- MediaKind of docs/media.md
    case_id text,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_id, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS media_files_at_brin ON ft.media_files USING brin (at);

-- File keys re-sealed by the county hub to the province's archive key
-- (crypto_box_seal); each re-sealing is an entry of the county's hub log
-- (hublog_epoch, hublog_seq), whose body names the file and the hash of
-- sealed_key.
CREATE TABLE IF NOT EXISTS ft.file_keys (
    file_id bytea NOT NULL,
    archive_pk bytea NOT NULL,       -- the province's X25519 public key
    at timestamptz NOT NULL,         -- the manifest entry's time
    county text NOT NULL,
    sealed_key bytea NOT NULL,
    hublog_epoch bigint NOT NULL,
    hublog_seq bigint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_id, archive_pk, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS file_keys_at_brin ON ft.file_keys USING brin (at);

-- Where each county's forwarding stands, per stream ('entries': arrival
-- number; 'hublog': hub log seq of epoch; 'enrolments': rows sent). Written
-- in the transaction that inserts the rows it covers.
CREATE TABLE IF NOT EXISTS ft.checkpoints (
    county text NOT NULL,
    stream text NOT NULL,
    position bigint NOT NULL,
    epoch bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, stream)
);

-- Append-only: every data table refuses UPDATE and DELETE (the row
-- triggers of a partitioned table are cloned onto its partitions) and
-- TRUNCATE of the table itself.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['counties', 'entries', 'hub_entries', 'enrolments', 'media_files',
                             'file_keys'] LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I BEFORE UPDATE OR DELETE ON ft.%I '
                       'FOR EACH ROW EXECUTE FUNCTION ft.refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I BEFORE TRUNCATE ON ft.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change()',
                       t || '_no_truncate', t);
    END LOOP;
END
$$;

COMMIT;
