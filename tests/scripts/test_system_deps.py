"""scripts/system-deps: one list of Debian packages, checked with dpkg, installed or asked for.

A fake `apt-get` first on PATH records any call, so a test sees whether the script tried to
install; dpkg-query is the machine's own.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system-deps"
ABSENT = "hpbench-no-such-package"


@pytest.fixture
def apt_log(tmp_path: Path) -> Path:
    """PATH with an `apt-get` that only logs its arguments; the log file it writes."""
    log = tmp_path / "apt-get.log"
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    return log


def run(packages: str, apt_log: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{apt_log.parent / 'bin'}:{os.environ['PATH']}"
    return subprocess.run(
        [str(SCRIPT)],
        env={**os.environ, "PATH": path, "HPBENCH_SYSTEM_DEPS": packages, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_package_as_user_prints_the_one_install_line_and_exits_2(apt_log):
    done = run(f"dpkg {ABSENT} coreutils", apt_log, HPBENCH_SYSTEM_DEPS_AS_USER="1")

    assert done.returncode == 2
    assert done.stderr == f"sudo apt-get install -y --no-install-recommends {ABSENT}\n"
    assert done.stdout == ""
    assert not apt_log.exists()


def test_every_missing_package_is_named_in_list_order(apt_log):
    done = run(f"zz-{ABSENT} dpkg {ABSENT}", apt_log, HPBENCH_SYSTEM_DEPS_AS_USER="1")

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"sudo apt-get install -y --no-install-recommends zz-{ABSENT} {ABSENT}"
    ]


def test_all_present_exits_0_without_apt(apt_log):
    done = run("dpkg coreutils bash", apt_log, HPBENCH_SYSTEM_DEPS_AS_USER="1")

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not apt_log.exists()


def test_the_default_list_names_every_package_the_tests_use():
    text = SCRIPT.read_text()
    for package in (
        "mbpoll",
        "mosquitto",
        "mosquitto-clients",
        "openssl",
        "chromium",
        "fonts-dejavu-core",
        "tmux",
        "poppler-utils",
        "postgresql",
    ):
        assert f" {package} " in text.replace("\\\n", " ").replace('"', " ")
