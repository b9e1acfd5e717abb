-- hpbench lab database, schema 2: the large JSONB columns compressed with lz4 instead of the
-- default pglz. A sync stores a run's result.json twice (whole in runs, per point in points:
-- about 0.5 MB for an overnight run); pglz spent about 15 ms of server CPU on it, as much as
-- 1 500 frames (docs/decisions/0270-lab-sync-round-trips.md). Only new values are affected.
-- A server without lz4 (PostgreSQL 13, or built without it) keeps pglz: the same data, slower.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE runs ALTER COLUMN result SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE points ALTER COLUMN result SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 not available on this server: JSONB stays compressed with pglz';
END
$$;
