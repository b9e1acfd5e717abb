"""Result files of a run, all made from its `run.sqlite` (docs/result-files.md).

`export_run(run_dir)` writes result.json (+ its JSON Schema in `schema/`), points.csv,
samples.csv, datasheet.csv, report.html and SHA256SUMS; `report_command` and `verify_command`
are `hpbench report` and `hpbench verify`.
"""

from bench.export.commands import export_run, report_command, verify_command
from bench.export.settings import ExportError

__all__ = ["ExportError", "export_run", "report_command", "verify_command"]
