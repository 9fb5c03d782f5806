"""The CLI's HTTP client: it talks to a Tocsin server like any script would, never to its database.

Where and as whom, first match wins: ``--url`` / ``--key``; then, with ``--profile NAME``, that
profile of ``tocsin login``; then ``TOCSIN_URL`` / ``TOCSIN_API_KEY``; then the profile named by
``TOCSIN_PROFILE`` or else ``default``. Exit codes are part of the interface scripts rely on: 0 ok,
1 the server refused (its error code and message are printed), 2 usage, 3 the server cannot be
reached. A 429 is retried after its ``Retry-After``, with a note on stderr."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from tocsin.cli import config
from tocsin.cli.common import fail, now, stderr

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
DEFAULT_URL = "http://127.0.0.1:8080"
MAX_RATE_LIMIT_RETRIES = 3
MAX_RETRY_WAIT = 60
PAGE = 100  # the API's largest page

Url = Annotated[str | None, typer.Option("--url", help="Server URL (default: TOCSIN_URL, then the profile).")]
Key = Annotated[
    str | None, typer.Option("--key", help="API key (default: TOCSIN_API_KEY, then the profile).")
]
ProfileName = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="A profile saved by `tocsin login`; wins over TOCSIN_URL/TOCSIN_API_KEY "
        "(default: TOCSIN_PROFILE, else 'default').",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the server's JSON instead of a table.")]

# Sleeping goes through this name so that tests can count the waits instead of waiting.
sleep: Callable[[float], None] = time.sleep


class Refused(Exception):
    """The server answered with an error: its code and message, as the spec's error envelope has them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def line(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Target:
    url: str
    key: str | None
    url_from: str  # where each came from, for `tocsin whoami`: "--url", "TOCSIN_URL", "profile 'x'"
    key_from: str


def target(url: str | None = None, key: str | None = None, profile: str | None = None) -> Target:
    """Resolve where to connect, as the module docstring says."""
    name = profile or os.environ.get("TOCSIN_PROFILE") or config.DEFAULT_PROFILE
    stored: dict[str, str] = {}
    if not (url and key):
        found = config.load().get(name)
        if found is None and (profile or os.environ.get("TOCSIN_PROFILE")):
            fail(
                f"USAGE: no profile {name!r} in {config.config_path()}; run `tocsin login --profile {name}`",
                EXIT_USAGE,
            )
        stored = found or {}
    saved = f"profile {name!r}"
    env = [("TOCSIN_URL", os.environ.get("TOCSIN_URL")), ("TOCSIN_API_KEY", os.environ.get("TOCSIN_API_KEY"))]
    url_choices = [("--url", url), (saved, stored.get("url")), env[0]]
    key_choices = [("--key", key), (saved, stored.get("api_key")), env[1]]
    if profile is None:  # without --profile, the environment wins over the file
        url_choices[1], url_choices[2] = url_choices[2], url_choices[1]
        key_choices[1], key_choices[2] = key_choices[2], key_choices[1]
    url_from, chosen_url = next(((s, v) for s, v in url_choices if v), ("default", DEFAULT_URL))
    key_from, chosen_key = next(((s, v) for s, v in key_choices if v), ("nowhere", None))
    return Target(chosen_url.rstrip("/"), chosen_key, url_from, key_from)


def incident_path(ref: str) -> str:
    """``#42``, ``42`` or ``inc_…`` as a path segment; anything else is a usage error."""
    value = ref.strip().removeprefix("#")
    if not (value.isdigit() or value.startswith("inc_")):
        fail(f"USAGE: {ref!r} is not an incident number (#42, 42) or id (inc_...)", EXIT_USAGE)
    return quote(value, safe="")


def segment(value: str) -> str:
    return quote(value, safe="")


class ApiClient:
    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        profile: str | None = None,
        timeout: float = 15.0,
        *,
        where: Target | None = None,
    ) -> None:
        self.target = where or target(url, key, profile)
        self.url = self.target.url
        if not self.target.key:
            fail(
                "USAGE: no API key; run `tocsin login`, set TOCSIN_API_KEY or pass --key",
                EXIT_USAGE,
            )
        if not self.url.startswith(("http://", "https://")):
            fail(f"USAGE: server URL {self.url!r} must start with http:// or https://", EXIT_USAGE)
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {self.target.key}", "User-Agent": "tocsin-cli"},
        )

    @property
    def key(self) -> str:
        return self.target.key or ""

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response, after retrying 429s; raises ``Refused`` for any error status. An unreachable
        server ends the command (exit 3): there is nothing to go on with."""
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                fail(f"UNREACHABLE: cannot reach {self.url}: {exc or type(exc).__name__}", EXIT_UNREACHABLE)
            if response.status_code == 429 and attempt < MAX_RATE_LIMIT_RETRIES:
                wait = retry_after(response.headers.get("Retry-After"))
                stderr().print(
                    f"Rate limited (429); retrying in {wait:g} s ({attempt + 1} of {MAX_RATE_LIMIT_RETRIES})",
                    style="yellow",
                    markup=False,
                )
                sleep(wait)
                continue
            if response.status_code >= 400:
                raise refusal(response)
            return response
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body; raises ``Refused``."""
        response = self.send(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            fail(f"BAD_RESPONSE: {self.url}{path} did not answer JSON; is it a Tocsin server?")

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body; a refusal or an unreachable server ends the command."""
        try:
            return self.call(method, path, **kwargs)
        except Refused as exc:
            fail(exc.line, EXIT_REFUSED)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=_present(params))

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=_present(body or {}))

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def text(self, path: str, **params: Any) -> str:
        try:
            return self.send("GET", path, params=_present(params)).text
        except Refused as exc:
            fail(exc.line, EXIT_REFUSED)

    def pages(
        self, path: str, params: dict[str, Any], *, limit: int | None, progress: bool = False
    ) -> dict[str, Any]:
        """Up to ``limit`` rows (all with ``None``) as one list envelope. One page is the server's
        body as it came; more are joined, and ``pagination`` then tells how many there are."""
        first = min(limit, PAGE) if limit is not None else PAGE
        body: dict[str, Any] = self.get(path, **params, limit=first, offset=0)
        total = int(body["pagination"]["total"])
        wanted = total if limit is None else min(limit, total)
        if len(body["data"]) >= wanted or not body["pagination"]["has_more"]:
            return body
        rows: list[Any] = list(body["data"])
        seen = {row.get("id") for row in rows}
        from rich.progress import Progress

        with Progress(console=stderr(), transient=True, disable=not progress) as bar:
            task = bar.add_task(f"Fetching {path}", total=wanted, completed=len(rows))
            while len(rows) < wanted:
                page = self.get(path, **params, limit=min(PAGE, wanted - len(rows)), offset=len(rows))
                fresh = [row for row in page["data"] if row.get("id") not in seen]
                seen.update(row.get("id") for row in fresh)
                rows += fresh
                bar.update(task, completed=len(rows))
                if not page["pagination"]["has_more"] or not page["data"]:
                    break
                total = int(page["pagination"]["total"])
        has_more = total > len(rows)
        return {
            "data": rows,
            "pagination": {"total": total, "limit": len(rows), "offset": 0, "has_more": has_more},
        }


def retry_after(header: str | None) -> float:
    """Seconds to wait: ``Retry-After`` as seconds or as an HTTP date, 1 s if absent, capped."""
    if not header:
        return 1.0
    try:
        seconds = float(header)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(header) - now()).total_seconds()
        except (TypeError, ValueError):
            return 1.0
    return min(float(MAX_RETRY_WAIT), max(0.0, seconds))


def refusal(response: httpx.Response) -> Refused:
    try:
        error = response.json()["error"]
        return Refused(response.status_code, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        text = " ".join(response.text.split())[:200]
        return Refused(response.status_code, f"HTTP_{response.status_code}", text or response.reason_phrase)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
