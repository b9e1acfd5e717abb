"""scripts/fix-citations: outside citations become the project's docs, and a second run is a no-op.

The outside names are spelled in pieces so that this file does not cite them itself.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fix-citations"
STD, PROT, DES = ("STANDARDS" + ".md", "PROTOCOLS" + ".md", "DESIGN" + ".md")
SH = "sha" + "red"


def _load():
    loader = importlib.machinery.SourceFileLoader("fix_citations", str(SCRIPT))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


fix = _load()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (f"(as {STD} §2 says)", "(as docs/standards.md §2 says)"),
        (f"{PROT} §1.1, §1.2", "docs/protocols.md §1.1, §1.2"),
        (f"{SH}/{PROT} section 3.2.", "docs/protocols.md §3.2."),
        (f"`../{SH}/{DES}` is the plan", "`docs/architecture.md` is the plan"),
        (f"/work/{SH}/{STD}", "docs/standards.md"),
        (
            f"from {SH}/perfmap_nibe_s2125_12.json",
            "from instruments/sim/data/perfmap_nibe_s2125_12.json",
        ),
        (f"../{SH}/en14825_bins.json", "bench/data/en14825_bins.json"),
    ],
)
def test_outside_citations_become_the_projects_docs(before, after):
    assert fix.rewrite(before) == after
    assert fix.rewrite(after) == after


@pytest.mark.parametrize(
    "text",
    [
        "docs/standards.md §2",
        f"other/{STD}",
        '_BINS = "data/en14825_bins.json"',
        "en14825_bins.json",
    ],
)
def test_what_is_not_an_outside_citation_is_left_alone(text):
    assert fix.rewrite(text) == text
