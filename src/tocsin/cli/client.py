"""The CLI's HTTP client: it talks to a Tocsin server like any script would, never to its database.

Where: ``--url`` / ``--key``, else ``TOCSIN_URL`` / ``TOCSIN_API_KEY``. Exit codes are part of the
interface scripts rely on: 0 ok, 1 the server refused (its error code and message are printed),
2 usage, 3 the server cannot be reached."""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
from rich.console import Console

from tocsin.cli.common import fail

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
DEFAULT_URL = "http://127.0.0.1:8080"
MAX_RATE_LIMIT_RETRIES = 3


class ApiClient:
    def __init__(self, url: str | None = None, key: str | None = None, timeout: float = 15.0) -> None:
        self.url = (url or os.environ.get("TOCSIN_URL") or DEFAULT_URL).rstrip("/")
        secret = key or os.environ.get("TOCSIN_API_KEY")
        if not secret:
            fail("USAGE: no API key; pass --key or set TOCSIN_API_KEY", EXIT_USAGE)
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {secret}"}
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body; a refusal or an unreachable server ends the command."""
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                fail(f"UNREACHABLE: cannot reach {self.url}: {exc}", EXIT_UNREACHABLE)
            if response.status_code == 429 and attempt < MAX_RATE_LIMIT_RETRIES:
                wait = min(60, int(response.headers.get("Retry-After", "1") or 1))
                Console(stderr=True).print(f"Rate limited; retrying in {wait} s", style="yellow")
                time.sleep(wait)
                continue
            if response.status_code >= 400:
                fail(_refusal(response), EXIT_REFUSED)
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json={k: v for k, v in body.items() if v is not None})


def _refusal(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}: {response.text[:200]}"
