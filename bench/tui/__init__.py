"""`hpbench tui`: the interactive face of the run engine (Textual).

`command.tui_command` opens the bench (`session.open_bench`), wraps it in a `session.Session`
and runs `app.HpbenchApp`: four screens (bench, plan, manual, runs) built from one widget per
file under `widgets/`, drawn from the `live.LiveState` the app refreshes from the session's
buses. docs/decisions/0007-tui-session.md says why the session exists.
"""
