from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.signalling_support import Balie, start_balie


@pytest.fixture
async def balie(tmp_path: Path) -> AsyncIterator[Balie]:
    node, _ = await start_balie(tmp_path)
    async with node.serving():
        yield node
