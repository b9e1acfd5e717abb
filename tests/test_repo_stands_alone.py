"""The repository stands on its own: no tracked file cites notes that live outside it.

Citations go to `docs/standards.md §N`, `docs/protocols.md §N.M` and `docs/architecture.md`;
`scripts/fix-citations` rewrites the old outside names. This test names every file:line left.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_NOTES = "|".join(n + r"\.md" for n in ("STANDARDS", "PROTOCOLS", "DESIGN", "EXAMPLES"))
OUTSIDE = re.compile(
    rf"(?<![\w/.-])(?:{_NOTES})"  # a bare note name: not docs/...
    r"|\.\./shared|/work/shared|(?<![\w.-])shared/[\w.-]+\.(?:md|json)"
    r"""|/\s*["']shared["']"""  # a path built as ... / "shared" / ...
)
# The script that rewrites the outside names, and this test's own examples, have to spell them.
SKIP = {"scripts/fix-citations", "tests/test_repo_stands_alone.py"}


def tracked_text_files() -> list[tuple[str, str]]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = []
    for name in filter(None, (n.decode() for n in names)):
        path = REPO / name
        if name in SKIP or path.is_symlink() or not path.is_file():
            continue
        try:
            files.append((name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:  # binary: cites nothing
            continue
    return files


def outside_references(files: list[tuple[str, str]]) -> list[str]:
    return [
        f"{name}:{number}: {match.group(0)}"
        for name, text in files
        for number, line in enumerate(text.splitlines(), 1)
        for match in OUTSIDE.finditer(line)
    ]


def test_no_tracked_file_cites_a_file_outside_the_repository():
    files = tracked_text_files()
    assert len(files) > 100  # git ls-files saw the repository
    found = outside_references(files)
    assert not found, "cite docs/standards.md, docs/protocols.md, docs/architecture.md:\n" + (
        "\n".join(found)
    )


def test_the_pattern_finds_each_kind_of_outside_reference():
    lines = [
        "see STANDARDS.md §2",
        "(PROTOCOLS.md §1.1)",
        "as DESIGN.md sketches",
        "EXAMPLES.md",
        "`../shared/DESIGN.md`",
        "/work/shared/en14825_bins.json",
        "from shared/perfmap_nibe_s2125_12.json",
        'Path(x).parent / "shared" / "a.json"',
    ]
    found = outside_references([("f", "\n".join(lines))])
    assert [entry.split(":")[1] for entry in found] == [str(i) for i in range(1, 9)]


def test_the_projects_own_docs_are_not_outside_references():
    text = 'docs/standards.md §2, docs/protocols.md §5.1, docs/architecture.md, "shared" memory'

    assert outside_references([("f", text)]) == []
