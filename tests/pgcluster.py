"""A throwaway PostgreSQL cluster for tests and benchmarks (Debian `postgresql`, no mocks).

`PgCluster().start()`: initdb into a fresh temporary directory, a free loopback port, the
unix socket in that directory; `stop(mode)`, `start()` again on the same data, `destroy()`.
initdb and postgres refuse to run as root: as root (the CI) every server command runs as
the `postgres` system user (created by the Debian package) through runuser, and the
directory is handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("HPBENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
INSTALL_HINT = "install it: apt-get install postgresql (scripts/system-deps does this)"


class ClusterError(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self, *, fsync: bool = False) -> None:
        if not (PG_BIN / "initdb").exists():
            raise ClusterError(f"{PG_BIN}/initdb not found: {INSTALL_HINT}")
        self.root = Path(tempfile.mkdtemp(prefix="hpbench-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.fsync = fsync
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterError(
                    f"running as root and no postgres user: {INSTALL_HINT}"
                ) from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o755)  # tests running as root reach the socket
        self._run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        conf = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.root}'",
            f"fsync = {'on' if fsync else 'off'}",
            "max_connections = 50",
            "shared_buffers = 64MB",
        ]
        with (self.data / "postgresql.conf").open("a") as f:
            f.write("\n".join(conf) + "\n")

    def _run(self, args: list[str], timeout: float = 120) -> str:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])}: {done.stderr.strip() or done.stdout}")
        return done.stdout

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def start(self) -> PgCluster:
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash: no checkpoint, clients cut off mid-transaction."""
        with contextlib.suppress(ClusterError):
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate")
        deadline = time.monotonic() + 10
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)
