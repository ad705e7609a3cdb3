"""Benchmark: what accepting a document costs, against simply keeping the bytes.

Product path, in process (no HTTP): the content checks (magic bytes, pypdf object walk, or Pillow
decode + re-encode), then envelope encryption and an atomic write to the filesystem store.
Baseline, measured in the same run on the same bytes: SHA-256 and a plain write of the file to the
same disk, which is the least any upload handler does.

    python -m bench.document_upload --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from backend.crypto import Keyring
from backend.documents.inspection import inspect_upload
from backend.documents.storage import FilesystemStore
from backend.documents.vault import Vault
from backend.settings import DocumentSettings
from tests import documents_samples as samples


def photo(width: int, height: int, kind: str = "JPEG") -> bytes:
    """A phone-sized photo (or scan) with texture, so the codecs have real work to do."""
    rng = random.Random(7)
    small = Image.new("RGB", (width // 8, height // 8))
    small.putdata(
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for _ in range(small.width * small.height)
        ]
    )
    image = small.resize((width, height), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", quality=92, exif=Image.Exif().tobytes())
    else:
        image.save(out, "PNG")
    return out.getvalue()


def baseline(directory: Path, data: bytes) -> None:
    hashlib.sha256(data).hexdigest()
    path = directory / uuid.uuid4().hex
    path.write_bytes(data)


async def product(vault: Vault, name: str, data: bytes) -> None:
    inspected = inspect_upload(name, data, DocumentSettings())
    await vault.put(uuid.uuid4(), inspected.content)


def timed(rounds: int, run: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        if asyncio.iscoroutine(result):
            asyncio.run(result)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 rounds: that it runs")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 2
    files = {
        "PDF, 5 MB": ("akte.pdf", samples.pdf(pad_to=5 * 1024 * 1024)),
        "JPEG, 12 MP": ("foto.jpg", photo(4000, 3000)),
        "PNG, 2 MP": ("scan.png", photo(1600, 1200, "PNG")),
    }
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        vault = Vault(FilesystemStore(root / "store"), Keyring.derived("bench", "bench"))
        (root / "plain").mkdir()
        print(f"{'file':<14} {'size':>9} {'baseline p50':>13} {'product p50 / p95':>20} {'ratio':>8}")
        for label, (name, data) in files.items():
            plain = timed(args.rounds, lambda d=data: baseline(root / "plain", d))  # type: ignore[misc]
            checked = timed(args.rounds, lambda n=name, d=data: product(vault, n, d))  # type: ignore[misc]
            p50, p95 = statistics.median(checked), sorted(checked)[int(0.95 * (len(checked) - 1))]
            base = statistics.median(plain)
            size = f"{len(data) / 1e6:.1f}MB"
            print(f"{label:<14} {size:>9} {base:>11.1f}ms {p50:>9.1f} / {p95:.1f} ms {p50 / base:>7.1f}x")


if __name__ == "__main__":
    main()
