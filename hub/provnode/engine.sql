-- engine.sql: the provincial node's own tables in schema ft, beside what the
-- county hubs forward (hub/province/schema.sql): the case index the gap
-- engine reads, where each device's log has been taken in, each case's
-- evaluation state, and the alert events (docs/province.md "Gap engine").
--
-- Applied by every provincial node at start (compiled in), idempotent and
-- serialised by an advisory lock. Tables and columns are only ever added.
-- ft.prov_index and ft.prov_alert_events are append-only (month partitions,
-- BRIN on time, UPDATE/DELETE refused by ft.refuse_change); prov_heads and
-- prov_case_state are work state that changes in place, like ft.checkpoints.

BEGIN;
SELECT pg_advisory_xact_lock(7400161);

-- The month partition of one of the node's partitioned tables that holds
-- time t (ft.make_month, hub/province/schema.sql, where the forwarded
-- tables' ft.ensure_month calls it too).
CREATE OR REPLACE FUNCTION ft.prov_month(parent text, t timestamptz) RETURNS void
LANGUAGE plpgsql AS
$$
BEGIN
    IF parent NOT IN ('prov_index', 'prov_alert_events') THEN
        RAISE EXCEPTION 'ft.prov_month: % is not a partitioned table of the provincial node', parent;
    END IF;
    PERFORM ft.make_month(parent, t, 7400164);
END
$$;

-- One row per verified record or media manifest taken into the index.
CREATE TABLE IF NOT EXISTS ft.prov_index (
    county text NOT NULL,
    device bytea NOT NULL,
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,        -- the forwarded row's `at` (joins ft.entries)
    arrival bigint NOT NULL,        -- the county hub's arrival number (identity order)
    kind smallint NOT NULL,         -- 1 record, 2 media manifest
    rtype integer NOT NULL,         -- record type (0 for media)
    case_id text NOT NULL,          -- cut as the county index cuts it; '' for none
    unit text NOT NULL,             -- the record's unit, else its device's
    officers text[] NOT NULL,       -- record: officers (+ a checkout's officer); media: its officer
    recorders text[] NOT NULL,      -- record: recorders (+ a checkout's recorder); media: its recorder
    media_id text NOT NULL,         -- media: the ID records cite (hex of its file ID); '' for records
    cites text[] NOT NULL,          -- record: the media IDs it cites (`media`); '{}' for media
    indexed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, device, epoch, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS prov_index_at_brin ON ft.prov_index USING brin (at);
CREATE INDEX IF NOT EXISTS prov_index_case ON ft.prov_index (county, case_id);
CREATE INDEX IF NOT EXISTS prov_index_officers ON ft.prov_index USING gin (officers);
CREATE INDEX IF NOT EXISTS prov_index_recorders ON ft.prov_index USING gin (recorders);
CREATE INDEX IF NOT EXISTS prov_index_media_id ON ft.prov_index (county, media_id);
CREATE INDEX IF NOT EXISTS prov_index_cites ON ft.prov_index USING gin (cites);

-- Where each device's log has been verified and taken in.
CREATE TABLE IF NOT EXISTS ft.prov_heads (
    county text NOT NULL,
    device bytea NOT NULL,
    epoch bigint NOT NULL,
    seq bigint NOT NULL,            -- last entry taken in
    hash bytea NOT NULL,            -- its entry hash
    blocked_seq bigint NOT NULL DEFAULT 0, -- an entry after it failed verification: none
                                           -- after it is taken in (verify names it)
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, device, epoch)
);

-- The clock offsets each county's gap engine applied to its devices' entries
-- (ClockOffset entries of the county hub's log, verified; proto/entry.proto):
-- an entry at arrival a takes the offset of its device's last row in hub-log
-- order (hub_epoch, hub_seq) whose from_arrival <= a; none: 0
-- (docs/province.md "Clock offsets").
CREATE TABLE IF NOT EXISTS ft.prov_clock (
    county text NOT NULL,
    hub_epoch bigint NOT NULL,      -- its place in the county hub's log
    hub_seq bigint NOT NULL,
    device bytea NOT NULL,
    from_arrival bigint NOT NULL,
    offset_ms bigint NOT NULL,      -- hub minus device clock
    indexed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, hub_epoch, hub_seq)
);
CREATE INDEX IF NOT EXISTS prov_clock_device ON ft.prov_clock (county, device, hub_epoch, hub_seq);
CREATE OR REPLACE TRIGGER prov_clock_append_only BEFORE UPDATE OR DELETE ON ft.prov_clock
    FOR EACH ROW EXECUTE FUNCTION ft.refuse_change();
CREATE OR REPLACE TRIGGER prov_clock_no_truncate BEFORE TRUNCATE ON ft.prov_clock
    FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change();

-- The clock offset of a county's device at an arrival (the rule above).
CREATE OR REPLACE FUNCTION ft.prov_offset(c text, dev bytea, arrival bigint) RETURNS bigint
LANGUAGE sql STABLE AS
$$
    SELECT coalesce((SELECT k.offset_ms FROM ft.prov_clock k WHERE k.county = c AND
                     k.device = dev AND k.from_arrival <= arrival
                     ORDER BY k.hub_epoch DESC, k.hub_seq DESC LIMIT 1), 0)
$$;

-- Each case's evaluation: dirty while changes > evaluated; due at next_due_ms.
CREATE TABLE IF NOT EXISTS ft.prov_case_state (
    county text NOT NULL,
    case_id text NOT NULL,
    changes bigint NOT NULL DEFAULT 1,
    evaluated bigint NOT NULL DEFAULT 0,
    next_due_ms bigint,
    evaluated_at timestamptz,
    evaluated_by text,
    PRIMARY KEY (county, case_id)
);
CREATE INDEX IF NOT EXISTS prov_case_state_due ON ft.prov_case_state (next_due_ms);

-- Every alert state change (docs/alerts.md "States"); the latest event of an
-- alert is its state.
CREATE SEQUENCE IF NOT EXISTS ft.prov_alert_event_no;
CREATE TABLE IF NOT EXISTS ft.prov_alert_events (
    event_no bigint NOT NULL DEFAULT nextval('ft.prov_alert_event_no'),
    at timestamptz NOT NULL,        -- the evaluation time (`now`)
    county text NOT NULL,
    case_id text NOT NULL,
    unit text NOT NULL,             -- the unit of its subject's record (scoping)
    alert_id text NOT NULL,         -- gaps.h: hash of rule, case and subject
    rule text NOT NULL,
    kind text NOT NULL,
    article text NOT NULL,
    severity text NOT NULL,
    subject text NOT NULL,
    detail text NOT NULL,
    state text NOT NULL,            -- open, resolved
    due_at_ms bigint NOT NULL,
    node text NOT NULL,             -- the provincial node that evaluated it
    made_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_no, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS prov_alert_events_at_brin ON ft.prov_alert_events USING brin (at);
CREATE INDEX IF NOT EXISTS prov_alert_events_case ON ft.prov_alert_events (county, case_id, alert_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['prov_index', 'prov_alert_events'] LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I BEFORE UPDATE OR DELETE ON ft.%I '
                       'FOR EACH ROW EXECUTE FUNCTION ft.refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I BEFORE TRUNCATE ON ft.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change()',
                       t || '_no_truncate', t);
    END LOOP;
END
$$;

-- Last: nodes skip this file once they see this version (pgengine.h).
INSERT INTO ft.meta (name, value) VALUES ('provnode_schema_version', '2')
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;

COMMIT;

-- Version 3: the units beside cases (hub/provnode/pgunits.h; docs/province.md
-- "Gap engine"): each caseless record and each media manifest without a case
-- is a unit of its own, evaluated as the county's engine evaluates it; and
-- supervisors' justifications (pgjustify.h); and the province's own
-- integrity alerts.
BEGIN;
SELECT pg_advisory_xact_lock(7400161);

-- Each unit's evaluation (as ft.prov_case_state for cases) and its entry.
CREATE TABLE IF NOT EXISTS ft.prov_unit_state (
    county text NOT NULL,
    unit_key text NOT NULL,         -- 'R' || a caseless record's ref, 'M' || a manifest's
    kind smallint NOT NULL,         -- 1 caseless record, 2 media manifest without a case
    device bytea NOT NULL,          -- its entry (ft.prov_index)
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    rec_unit text NOT NULL DEFAULT '', -- a record's unit and (cut) id: its identity
    rec_id text NOT NULL DEFAULT '',
    changes bigint NOT NULL DEFAULT 1,
    evaluated bigint NOT NULL DEFAULT 0,
    next_due_ms bigint,
    evaluated_at timestamptz,
    evaluated_by text,
    PRIMARY KEY (county, unit_key)
);
CREATE INDEX IF NOT EXISTS prov_unit_state_due ON ft.prov_unit_state (next_due_ms);
CREATE INDEX IF NOT EXISTS prov_unit_state_ident ON ft.prov_unit_state (county, rec_unit, rec_id);
CREATE INDEX IF NOT EXISTS prov_unit_state_entry ON ft.prov_unit_state (county, device, epoch, seq);

-- The rows a batch took in (indexed_at = its transaction's now()).
CREATE INDEX IF NOT EXISTS prov_index_indexed_at ON ft.prov_index (county, indexed_at);

-- The unit of an alert that is not a case's ('' for a case's).
ALTER TABLE ft.prov_alert_events ADD COLUMN IF NOT EXISTS unit_key text NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS prov_alert_events_unit ON ft.prov_alert_events (county, unit_key, alert_id);

-- Supervisors' justifications the province took in (hub/provnode/pgjustify.h):
-- justification records of the counties' verified hub logs and device logs.
CREATE SEQUENCE IF NOT EXISTS ft.prov_justification_no;
CREATE TABLE IF NOT EXISTS ft.prov_justifications (
    no bigint NOT NULL DEFAULT nextval('ft.prov_justification_no'),
    county text NOT NULL,
    source text NOT NULL,           -- 'hub log EPOCH/SEQ', or the device entry's ref
    alert_id text NOT NULL,         -- the alert it names (lower-case hex)
    by_whom text NOT NULL,          -- its officer (the dashboard's user)
    reason text NOT NULL,
    indexed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, source)
);
CREATE INDEX IF NOT EXISTS prov_justifications_alert ON ft.prov_justifications (county, alert_id, no);
CREATE OR REPLACE TRIGGER prov_justifications_append_only BEFORE UPDATE OR DELETE
    ON ft.prov_justifications FOR EACH ROW EXECUTE FUNCTION ft.refuse_change();
CREATE OR REPLACE TRIGGER prov_justifications_no_truncate BEFORE TRUNCATE
    ON ft.prov_justifications FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change();

-- Device entries the province's own verification refused, each blocking its
-- device's log (ft.prov_heads.blocked_seq): the integrity rule is raised for
-- each once (hub/provnode/pgunits.h).
CREATE TABLE IF NOT EXISTS ft.prov_integrity (
    county text NOT NULL,
    unit_key text NOT NULL,         -- 'I' || DEVICE/epoch/seq || '#' || reason
    device bytea NOT NULL,
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    reason text NOT NULL,           -- pverify.h PVERIFY_*
    detail text NOT NULL,
    unit text NOT NULL,             -- the device's enrolled unit
    found_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, unit_key)
);
CREATE OR REPLACE TRIGGER prov_integrity_append_only BEFORE UPDATE OR DELETE
    ON ft.prov_integrity FOR EACH ROW EXECUTE FUNCTION ft.refuse_change();
CREATE OR REPLACE TRIGGER prov_integrity_no_truncate BEFORE TRUNCATE
    ON ft.prov_integrity FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change();

INSERT INTO ft.meta (name, value) VALUES ('provnode_schema_version', '3')
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;

COMMIT;

-- Version 4: what take-in marks is bounded in time (docs/province.md "Gap
-- engine", "What a batch marks"). ft.prov_acts holds, for each activity
-- record, media manifest and recorder checkout or return taken in, one row
-- per officer and one per recorder it names, with its window in ms of its
-- device's own clock (uncorrected: take-in widens every search by the
-- county's clock offsets); the searches go by (county, kind, role, name,
-- lo), as the county's index goes by officer or recorder and time.
-- ft.prov_spans keeps the longest window of each kind per county, so that
-- "overlaps [a, b]" is a search of lo in [a - span, b]; ft.prov_holders
-- which officers and recorders a checkout ever paired. Filled at take-in;
-- for a database of version 3, from ft.prov_index and the signed entries
-- once (pgengine.c fill_acts; ft.meta prov_acts_filled).
BEGIN;
SELECT pg_advisory_xact_lock(7400161);

CREATE TABLE IF NOT EXISTS ft.prov_acts (
    county text NOT NULL,
    kind smallint NOT NULL,         -- 1 activity record, 2 media manifest, 3 checkout or return
    role smallint NOT NULL,         -- 1 an officer, 2 a recorder
    name text NOT NULL,             -- cut as ft.prov_index cuts it
    partner text NOT NULL,          -- a checkout's recorder (role 1) or officer (role 2); else ''
    lo bigint NOT NULL,             -- window [lo, hi] in ms, the device's clock
    hi bigint NOT NULL,
    case_id text NOT NULL,
    device bytea NOT NULL,          -- its entry (ft.prov_index)
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS prov_acts_name_lo ON ft.prov_acts (county, kind, role, name, lo);
CREATE OR REPLACE TRIGGER prov_acts_append_only BEFORE UPDATE OR DELETE
    ON ft.prov_acts FOR EACH ROW EXECUTE FUNCTION ft.refuse_change();
CREATE OR REPLACE TRIGGER prov_acts_no_truncate BEFORE TRUNCATE
    ON ft.prov_acts FOR EACH STATEMENT EXECUTE FUNCTION ft.refuse_change();

-- Each officer and recorder a checkout or return paired (work state, only
-- ever added to): who may hold a clip's recorder.
CREATE TABLE IF NOT EXISTS ft.prov_holders (
    county text NOT NULL,
    officer text NOT NULL,
    recorder text NOT NULL,
    PRIMARY KEY (county, recorder, officer)
);
CREATE INDEX IF NOT EXISTS prov_holders_officer ON ft.prov_holders (county, officer);

CREATE TABLE IF NOT EXISTS ft.prov_spans (
    county text NOT NULL,
    kind smallint NOT NULL,         -- as ft.prov_acts.kind
    span bigint NOT NULL,           -- the longest hi - lo taken in
    PRIMARY KEY (county, kind)
);

INSERT INTO ft.meta (name, value) VALUES ('provnode_schema_version', '4')
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;

COMMIT;
