"""/docs and /redoc work offline: every script, style and icon they load is served by this app."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient


class _Assets(HTMLParser):
    """The URLs a page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def _assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize(("page", "scripts"), [("/docs", 1), ("/redoc", 1)])
def test_a_docs_page_loads_nothing_from_another_host(app_client: TestClient, page: str, scripts: int) -> None:
    response = app_client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "cdn.jsdelivr.net" not in response.text
    assert "fonts.googleapis.com" not in response.text
    urls = _assets(response.text)
    assert sum(url.endswith(".js") for url in urls) == scripts
    assert all(url.startswith("/docs-assets/") for url in urls), urls
    for url in urls:
        asset = app_client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rindex(".") :]
        assert EXPECTED_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 0


def test_swagger_ui_reads_this_apps_openapi_spec(app_client: TestClient) -> None:
    html = app_client.get("/docs").text
    assert "url: '/openapi.json'" in html
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html
    assert app_client.get("/docs/oauth2-redirect").status_code == 200
    assert app_client.get("/redoc").text.count('spec-url="/openapi.json"') == 1


def test_a_missing_asset_is_a_404(app_client: TestClient) -> None:
    assert app_client.get("/docs-assets/no-such-file.js").status_code == 404
    assert app_client.get("/docs-assets/../config.py").status_code == 404
