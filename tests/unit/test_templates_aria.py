"""Lists keep their list semantics: a role on <ol>/<ul> (e.g. role="log" on the chat) turns its
<li> into orphans, which axe reports as a serious `listitem` violation on every call page."""

from __future__ import annotations

import re

from backend.settings import WEB_DIR

LIST_WITH_ROLE = re.compile(r"<(ol|ul)\b[^>]*\brole=\"(?!list\")[^\"]*\"", re.IGNORECASE)


def test_no_list_element_carries_a_role_that_hides_its_items() -> None:
    offenders = [
        f"{path.relative_to(WEB_DIR)}: {match.group(0)}"
        for path in sorted((WEB_DIR / "templates").rglob("*.html"))
        for match in LIST_WITH_ROLE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
