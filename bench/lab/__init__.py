"""The lab database: every bench's runs in one PostgreSQL (docs/lab.md).

`config` (the station's `[lab]` table), `schema` (numbered SQL migrations), `package` (a sealed
run directory, verified and read), `sync` (one run into the database, one transaction),
`outbox` (syncs waiting for the database, retried with back-off), `queries` and `commands`
(`hpbench lab ...`). SQLite stays each bench's own store; the lab database is a copy of what
was sealed.
"""
