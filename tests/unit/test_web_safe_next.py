"""After sign-in the pages go to ``next`` only if it is a path of this site (no open redirect)."""

from __future__ import annotations

import pytest

from api.web.pages import safe_next


@pytest.mark.parametrize("target", ["/", "/anomalies?severity=critical", "/trace/claim/C-2019-000026"])
def test_a_path_of_this_site_is_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [None, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
     "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\x7f", "anomalies", "javascript:alert(1)"],
)  # fmt: skip
def test_anything_else_goes_to_the_dashboard(target: str | None) -> None:
    assert safe_next(target) == "/"
