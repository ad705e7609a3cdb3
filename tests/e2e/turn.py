"""coturn on loopback for tests (NOTES.md), with free ports and its log in the test's directory."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import die_with_parent, free_port

STUN_BINDING = 0x0001
MAGIC_COOKIE = 0x2112A442


@dataclass(frozen=True)
class Coturn:
    port: int
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _answers_stun(port: int) -> bool:
    """A STUN binding request on UDP: coturn answers once it listens."""
    request = struct.pack("!HHI12s", STUN_BINDING, 0, MAGIC_COOKIE, secrets.token_bytes(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            sock.recvfrom(2048)
        except OSError:
            return False
    return True


@contextmanager
def coturn(workdir: Path) -> Iterator[Coturn]:
    """``turnserver`` with the TURN REST scheme (``--use-auth-secret``), relaying on 127.0.0.1 only.

    ``--allow-loopback-peers`` is for this test only: production refuses loopback and private
    peers (docker-compose.yml).
    """
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError("coturn is missing: apt-get install -y coturn")
    port, secret = free_port(), secrets.token_hex(16)
    relay_low = random.randrange(40000, 59000, 200)  # coturn skips ports that are taken
    log = workdir / "turnserver.log"
    command = [
        binary,
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=balie.test",
        "--allow-loopback-peers",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--fingerprint",
        f"--min-port={relay_low}",
        f"--max-port={relay_low + 199}",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--userdb={workdir / 'turndb'}",
        "--log-file=stdout",
        "--simple-log",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ}, preexec_fn=die_with_parent
        )
    try:
        deadline = time.monotonic() + 10
        while not _answers_stun(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coturn did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield Coturn(port=port, secret=secret, log=log)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
