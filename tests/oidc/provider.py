"""A real OpenID Connect provider for the single sign-on tests: ``provider.mjs`` (panva's
oidc-provider, installed here with ``npm ci`` from the committed lock file) run with node on a
free port of 127.0.0.1, and a browser-like client that signs in through its development login
form (any login name; "verified" and "unverified" say what ``email_verified`` the account has)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from tests.e2e.engine_proc import HOST, free_port, start, stop

HERE = Path(__file__).parent
CLIENT_ID, CLIENT_SECRET = "tocsin-web", "a-client-secret-for-tests-only"


@dataclass(frozen=True)
class OidcProvider:
    port: int

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def sign_in(self, authorization_url: str, login: str) -> str:
        """Follow the provider's pages as a browser would, sign in as ``login``; where the
        provider sends the browser back (the app's callback URL with ``code`` and ``state``)."""
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            url = authorization_url
            answer = browser.get(url)
            for _ in range(12):
                if answer.is_redirect:
                    url = urljoin(url, answer.headers["location"])
                    if not url.startswith(self.issuer):
                        return url  # back to the app
                    answer = browser.get(url)
                    continue
                form = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
                assert form is not None, answer.text
                hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text))
                url = urljoin(url, form.group(1))
                answer = browser.post(url, data={**hidden, "login": login, "password": "any"})
            raise AssertionError("the provider never sent the browser back")


@contextmanager
def running_provider(workdir: Path, redirect_uri: str, email: str) -> Iterator[OidcProvider]:
    node = shutil.which("node")
    assert node, "node is missing: apt-get install -y nodejs npm (as .ci/run does)"
    assert (HERE / "node_modules" / "oidc-provider").exists(), f"run: npm ci --prefix {HERE}"
    port = free_port()
    command = [node, str(HERE / "provider.mjs"), str(port), CLIENT_ID, CLIENT_SECRET, redirect_uri, email]
    process: subprocess.Popen[bytes] = start(command, {"PATH": "/usr/bin:/bin"}, workdir / "oidc.log", port)
    try:
        yield OidcProvider(port)
    finally:
        stop(process)
