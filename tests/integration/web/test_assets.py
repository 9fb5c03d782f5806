"""``/static/``: versioned URLs cached for a year, anything else revalidated; the vendored files are
the ones ``VENDORED.md`` names; the JavaScript a page loads stays under its 30 KB budget."""

from __future__ import annotations

import gzip
import hashlib
import re

from fastapi.testclient import TestClient

from tocsin.web.templating import STATIC, static_url

JS_BUDGET_GZIPPED = 30 * 1024


def test_a_versioned_url_is_immutable_and_others_revalidate(app_client: TestClient) -> None:
    versioned = app_client.get(static_url("app.css"))
    assert versioned.status_code == 200 and versioned.headers["content-type"].startswith("text/css")
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    for url in ("/static/app.css", "/static/app.css?v=0123456789ab"):
        stale = app_client.get(url)
        assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"


def test_the_version_follows_the_content() -> None:
    digest = hashlib.sha256((STATIC / "vendor/htmx.min.js").read_bytes()).hexdigest()
    assert static_url("vendor/htmx.min.js") == f"/static/vendor/htmx.min.js?v={digest[:12]}"


def test_nothing_outside_static_is_served(app_client: TestClient) -> None:
    assert app_client.get("/static/missing.js").status_code == 404
    assert app_client.get("/static/../templating.py").status_code == 404
    assert app_client.get("/static/%2e%2e/templating.py").status_code == 404


def test_vendored_files_match_their_record() -> None:
    record = (STATIC / "vendor" / "VENDORED.md").read_text()
    listed = dict(re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", record, re.MULTILINE))
    served = {name: digest for name, digest in listed.items() if (STATIC / "vendor" / name).exists()}
    assert set(served) == {"htmx.min.js", "htmx-ext-sse.min.js"}
    for name, digest in served.items():
        assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == digest, name


def test_the_javascript_of_a_page_fits_the_budget(app_client: TestClient) -> None:
    page = app_client.get("/nothing", headers={"Accept": "text/html"}).text
    scripts = re.findall(r'<script src="/static/([^"?]+)\?v=', page)
    assert "vendor/htmx.min.js" in scripts and "vendor/htmx-ext-sse.min.js" in scripts
    total = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in scripts)
    assert total < JS_BUDGET_GZIPPED, f"{total} bytes of JavaScript gzipped"
