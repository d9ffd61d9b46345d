"""A throwaway PostgreSQL cluster for tests, started from the server binaries on the machine.

``initdb`` refuses to run as root, so when the tests run as root the cluster is owned by an
unprivileged system user (``postgres`` if it exists, else ``nobody``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_BINARIES = ("initdb", "pg_ctl")


def missing_binaries() -> list[str]:
    return [name for name in SERVER_BINARIES if shutil.which(name) is None]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"]
    raise RuntimeError("running as root and no unprivileged user to own the PostgreSQL cluster")


@dataclass
class PostgresCluster:
    root: Path
    port: int
    prefix: list[str]

    @classmethod
    def start(cls) -> PostgresCluster:
        root = Path(tempfile.mkdtemp(prefix="kizuna-pg-"))
        prefix = _run_as()
        if prefix:
            user = prefix[2]
            pw = pwd.getpwnam(user)
            os.chown(root, pw.pw_uid, pw.pw_gid)
        root.chmod(0o700)
        data = root / "data"
        subprocess.run(
            [
                *prefix,
                "initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
        )
        port = _free_port()
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            [
                *prefix,
                "pg_ctl",
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return cls(root=root, port=port, prefix=prefix)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, "pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)
