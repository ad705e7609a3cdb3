"""A loopback-only network namespace for browser tests (NOTES.md: WebRTC gathers every interface).

A sleeping process holds the namespace; the app server and Chromium are started inside it with
``nsenter``, so all their traffic (HTTP, WebSocket, ICE) stays on that namespace's 127.0.0.1. The
test process itself stays outside and drives Chromium over Playwright's pipe.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import die_with_parent

CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Namespace:
    holder_pid: int
    chromium: Path
    """A wrapper script that starts Chromium inside the namespace."""

    def prefix(self) -> list[str]:
        return ["nsenter", "-t", str(self.holder_pid), "-n"]


@contextmanager
def loopback_namespace(workdir: Path) -> Iterator[Namespace]:
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing (apt-get install util-linux iproute2)")
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            "Debian's Chromium is missing: apt-get install chromium (never `playwright install`)"
        )
    if os.geteuid() != 0:
        raise RuntimeError("browser tests make a network namespace and need root")
    holder = subprocess.Popen(
        ["unshare", "--net", "--fork", "--kill-child", "sleep", "infinity"], preexec_fn=die_with_parent
    )
    try:
        pid = _child_of(holder.pid)
        subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "link", "set", "lo", "up"], check=True)
        wrapper = workdir / "chromium-in-netns"
        wrapper.write_text(f'#!/bin/sh\nexec nsenter -t {pid} -n {CHROMIUM} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
        yield Namespace(holder_pid=pid, chromium=wrapper)
    finally:
        holder.terminate()  # --kill-child takes the sleeping process (and the namespace) with it
        try:
            holder.wait(5)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()


def _child_of(pid: int) -> int:
    """``unshare --fork`` runs ``sleep`` as its child: that child is the one inside the namespace."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists() and children.read_text().split():
            return int(children.read_text().split()[0])
        time.sleep(0.02)
    raise RuntimeError("unshare did not start its namespace process")
