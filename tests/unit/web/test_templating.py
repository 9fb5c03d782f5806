"""The layout and the template environment: the main links use the issue's words, values are
escaped, and a misspelt variable fails loudly instead of rendering blank."""

from __future__ import annotations

import re

import pytest
from jinja2 import UndefinedError
from starlette.requests import Request

from tocsin.web.templating import ENVIRONMENT, render_page


def _request(path: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""})


def test_signed_in_pages_show_the_main_links_and_mark_the_current_one() -> None:
    page = render_page(_request("/oncall"), "errors/not_found.html", {"path": "/oncall", "nav": True})
    html = page.body.decode()
    links = re.findall(r'<a href="(/[a-z]+)"( aria-current="page")?>([^<]+)</a>', html)
    assert [(href, label) for href, _, label in links] == [
        ("/incidents", "Incidents"),
        ("/oncall", "On call"),
        ("/schedules", "Schedules"),
        ("/profile", "Profile"),
    ]
    assert [label for _, current, label in links if current] == ["On call"]


def test_pages_without_a_signed_in_person_have_no_main_links() -> None:
    html = render_page(_request("/x"), "errors/not_found.html", {"path": "/x"}).body.decode()
    assert 'aria-label="Main"' not in html and "Incidents" not in html


def test_values_are_escaped_and_unknown_names_fail() -> None:
    html = render_page(_request("/"), "errors/not_found.html", {"path": "<script>"}).body.decode()
    assert "<script>" not in html.split("<body>")[1] and "&lt;script&gt;" in html
    with pytest.raises(UndefinedError):
        ENVIRONMENT.get_template("errors/not_found.html").render({"request": _request("/"), "nav": False})


def test_the_status_badge_says_the_status_in_words() -> None:
    macro = ENVIRONMENT.get_template("_status.html").module.status_badge  # type: ignore[attr-defined]
    for status, word in (("OPEN", "Open"), ("ACKNOWLEDGED", "Acknowledged"), ("RESOLVED", "Resolved")):
        badge = str(macro(status))
        assert f"status-{status.lower()}" in badge and f"</span>{word}</span>" in badge
