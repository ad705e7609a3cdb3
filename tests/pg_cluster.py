"""A PostgreSQL cluster that one test owns: its own data directory and port, stopped and started
by the test (a database outage the shared server at 5432 must not suffer)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port


def _bin(tool: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in versions:
        if (directory / tool).exists():
            return str(directory / tool)
    raise RuntimeError(f"PostgreSQL's {tool} is missing (apt-get install postgresql)")


@dataclass
class Cluster:
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        command = [_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data}"
        self._ctl("-o", options, "-l", str(self.data / "log"), "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="balie-pg-"))
    base.chmod(0o777)
    data = base / "data"
    command = [_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cluster = Cluster(data, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
