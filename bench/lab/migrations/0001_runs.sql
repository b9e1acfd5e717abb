-- hpbench lab database, schema 1: runs of every bench (docs/lab.md).
-- Names: a run is identified by its run id (run.sqlite meta.run_id); everything else hangs off
-- runs.id. The whole result.json is kept per run and per point (JSONB) beside the columns an
-- engineer queries, so nothing of the sealed package is lost to the schema.

CREATE TABLE stations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    lab text NOT NULL DEFAULT ''
);

CREATE TABLE units (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    make text NOT NULL,
    model text NOT NULL,
    serial text NOT NULL,
    refrigerant text,
    UNIQUE (make, model, serial)
);

CREATE TABLE runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text NOT NULL UNIQUE,
    directory text NOT NULL,
    station_id bigint NOT NULL REFERENCES stations (id),
    unit_id bigint NOT NULL REFERENCES units (id),
    plan_name text NOT NULL,
    plan_sha256 text,
    plan_text text,
    standard text,
    operator text,
    profile_name text,
    profile_version text,
    outcome text,
    simulated boolean NOT NULL DEFAULT false,
    speed double precision,
    created timestamptz,
    first_frame timestamptz,
    last_frame timestamptz,
    frames bigint NOT NULL,
    hpbench_version text,
    station_sha256 text,
    package_sha256 text NOT NULL,  -- SHA-256 of the run's SHA256SUMS: the sealed package
    result jsonb NOT NULL,         -- result.json as sealed
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_unit ON runs (unit_id, created);
CREATE INDEX runs_station ON runs (station_id, synced_at);

CREATE TABLE instruments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    driver text NOT NULL,
    serial text NOT NULL,
    make text NOT NULL DEFAULT '',
    model text NOT NULL DEFAULT '',
    UNIQUE (driver, serial)
);

-- the calibration in force for each instrument in each run: "which runs used this analyser
-- while its calibration was overdue?"
CREATE TABLE calibrations (
    run bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    role text NOT NULL,
    instrument bigint NOT NULL REFERENCES instruments (id),
    address text,
    firmware text,
    due date,
    status text,
    accuracy jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run, role)
);

CREATE TABLE channels (
    run bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx integer NOT NULL,  -- the position in frames.value / frames.quality (1-based)
    channel text NOT NULL,
    unit text NOT NULL,
    PRIMARY KEY (run, idx)
);

CREATE TABLE points (
    run bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx integer NOT NULL,
    point_id text NOT NULL,
    status text NOT NULL,
    reason text,
    started timestamptz,
    ended timestamptz,
    first_seq integer,
    last_seq integer,
    capacity_w double precision,
    capacity_u_w double precision,  -- expanded uncertainty U (k in points_results.k)
    power_w double precision,
    power_u_w double precision,
    cop double precision,
    cop_u double precision,
    result jsonb NOT NULL,  -- the point of result.json as sealed
    PRIMARY KEY (run, idx)
);
CREATE INDEX points_point_id ON points (point_id);

-- every result of every point with its uncertainty, one row per quantity
CREATE TABLE point_results (
    run bigint NOT NULL,
    idx integer NOT NULL,
    quantity text NOT NULL,
    value double precision,
    u double precision,           -- standard uncertainty
    expanded_u double precision,  -- U = k u
    k double precision,
    PRIMARY KEY (run, idx, quantity),
    FOREIGN KEY (run, idx) REFERENCES points (run, idx) ON DELETE CASCADE
);

CREATE TABLE events (
    run bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    id integer NOT NULL,
    t timestamptz NOT NULL,
    seq integer,
    kind text NOT NULL,
    message text NOT NULL,
    data jsonb,
    PRIMARY KEY (run, id)
);

-- frames: one row per acquired frame, the channel values in channels.idx order (NaN where
-- none), quality 0 ok / 1 stale / 2 invalid / 255 absent (run.sqlite meta.frame_format).
-- Time-partitioned: a TimescaleDB hypertable when the server has the extension loaded,
-- native monthly range partitions otherwise (created by `hpbench lab sync` as needed).
DO $$
DECLARE
    columns text := 'run bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE, '
        'seq integer NOT NULL, t timestamptz NOT NULL, value double precision[] NOT NULL, '
        'quality smallint[] NOT NULL, detail jsonb, PRIMARY KEY (run, seq, t)';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries') LIKE '%timescaledb%' THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXECUTE format('CREATE TABLE frames (%s)', columns);
        PERFORM create_hypertable('frames', 't', chunk_time_interval => interval '7 days');
    ELSE
        EXECUTE format('CREATE TABLE frames (%s) PARTITION BY RANGE (t)', columns);
    END IF;
END
$$;
