"""Benchmark: the device check, from opening /ws/check to the first echoed frame, and what an echo
session costs the server.

Baseline, measured in the same run: the same echo peer (signalling.peers.echo.EchoPeer) wired to an
aiortc client in process, with no server, socket or process boundary, from createOffer to the first
echoed frame. The ratio shows what the product's path adds. The CPU figure is the ``balie run``
process's CPU time while one echo session streams, minus the same while idle, per second of wall
time (1.0 = one core busy).

    python -m bench.echo_check --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack

from signalling.peers.check_probe import CheckProbe
from signalling.peers.echo import EchoPeer
from signalling.peers.probe import pin_to_loopback, rtc_configuration
from tests.live import live_server

CPU_SECONDS = 5.0


async def bare_echo() -> float:
    """createOffer -> first echoed frame, client and echo peer in one process."""
    client, echo = RTCPeerConnection(rtc_configuration([])), EchoPeer([])
    client.addTrack(VideoStreamTrack())
    client.addTrack(AudioStreamTrack())
    got_frame = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()

    @client.on("track")
    def _track(track: MediaStreamTrack) -> None:
        async def first() -> None:
            if track.kind == "video":
                await track.recv()
                got_frame.set()

        tasks.add(asyncio.create_task(first()))

    started = time.perf_counter()
    await client.setLocalDescription(await client.createOffer())
    answer = await echo.answer(client.localDescription.sdp)
    await client.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await got_frame.wait()
    elapsed = time.perf_counter() - started
    await client.close()
    await echo.close()
    return elapsed


async def through_server(ws_url: str) -> tuple[float, float]:
    """(hello -> first echoed frame, median data-channel round trip), through ``balie run``."""
    probe = CheckProbe(ws_url)
    started = time.perf_counter()
    try:
        await probe.connect(await probe.open(), [VideoStreamTrack(), AudioStreamTrack()])
        await probe.first_frame.wait()
        elapsed = time.perf_counter() - started
        rtts = [await probe.ping() for _ in range(5)]
    finally:
        await probe.close()
    return elapsed, statistics.median(rtts)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def cpu_share(pid: int, ws_url: str | None) -> float:
    """The server's CPU per wall second over CPU_SECONDS, with one echo session running or none."""
    probe = CheckProbe(ws_url) if ws_url else None
    if probe is not None:
        await probe.connect(await probe.open(), [VideoStreamTrack(), AudioStreamTrack()])
        await probe.first_frame.wait()
    before, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(CPU_SECONDS)
    used = (cpu_seconds(pid) - before) / (time.perf_counter() - started)
    if probe is not None:
        await probe.close()
    return used


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    p50 = statistics.median(ordered) * 1000
    return f"{name:<34} p50 {p50:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(values)})"


async def main(rounds: int) -> None:
    pin_to_loopback()
    baseline = [await bare_echo() for _ in range(rounds)]
    env = {"BALIE_ICE_HOST_ADDRESSES": "127.0.0.1", "BALIE_CHECK_MAX_SECONDS": "60"}
    with tempfile.TemporaryDirectory() as tmp:
        async with live_server(Path(tmp), env=env) as server:
            runs = [await through_server(server.ws_url) for _ in range(rounds)]
            idle = await cpu_share(server.process.pid, None)
            busy = await cpu_share(server.process.pid, server.ws_url)
    print(summary("bare echo peer in process", baseline))
    print(summary("check via server: first frame", [r[0] for r in runs]))
    print(summary("check via server: round trip", [r[1] for r in runs]))
    ratio = statistics.median([r[0] for r in runs]) / statistics.median(baseline)
    print(f"ratio (p50, first frame): {ratio:.2f}x")
    print(
        f"server CPU: idle {idle:.3f}, one echo session {busy:.3f} -> {busy - idle:.3f} of a core per session"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 rounds: that it runs")
    arguments = parser.parse_args()
    asyncio.run(main(2 if arguments.quick else arguments.rounds))
