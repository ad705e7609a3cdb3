"""axe-core (npm) in the browser tests: WCAG 2.1 AA checks of a page as Chromium shows it.

:func:`violations` installs axe-core from its lock file on first use (``npm ci``, as the interop
tests install their provider), injects it into the page and returns what it finds, in a form that
reads well in an assertion.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_DIR = Path(__file__).parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def install() -> None:
    if AXE_SCRIPT.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is missing (apt-get install nodejs npm)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=AXE_DIR, check=True)


async def violations(page: Page) -> list[str]:
    """Every WCAG 2.1 A/AA violation on the page: rule, impact and the elements it found."""
    install()
    # Evaluated over the DevTools protocol: the page's CSP (script-src 'self') would block a tag.
    await page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: "tag", values: tags}})).violations
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" "))}))""",
        WCAG_AA,
    )
    return [f"{v['id']} ({v['impact']}): {', '.join(v['nodes'][:5])}" for v in found]
