"""HTTPS for ``tocsin serve``: the certificate and key files, checked before anything listens.

Why: PagerDuty's own client (and other senders) refuse plain http, and a team without a reverse
proxy in front of Tocsin needs the server itself to speak TLS. uvicorn takes the two files; this
module makes sure they are a usable pair first, so a typo or a wrong file is one clear line at
start-up rather than a traceback from deep in the server, or a prompt for a key password that a
service manager can never answer.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path


class TlsConfigError(ValueError):
    """The TLS settings cannot work; the message says which file or option, and why."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A PEM certificate (chain) and its unencrypted private key, checked to load together."""

    certfile: Path
    keyfile: Path


def _no_password() -> bytes:
    """The key must be unencrypted: refuse rather than let OpenSSL prompt on a terminal."""
    return b""


def tls_files(certfile: Path | None, keyfile: Path | None) -> TlsFiles | None:
    """The checked pair, ``None`` when neither is given (plain http); ``TlsConfigError`` when only
    one is given, a file cannot be read, or the two do not load as a certificate and its key."""
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        missing = "--ssl-certfile (TOCSIN_SSL_CERTFILE)"
        if keyfile is None:
            missing = "--ssl-keyfile (TOCSIN_SSL_KEYFILE)"
        raise TlsConfigError(f"TLS needs both a certificate and its private key: {missing} is not set")
    for path, what in ((certfile, "certificate"), (keyfile, "private key")):
        try:
            path.read_bytes()
        except OSError as exc:
            raise TlsConfigError(f"Cannot read the TLS {what} file {path}: {exc.strerror or exc}") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            certfile, keyfile, password=_no_password
        )
    except ssl.SSLError as exc:
        raise TlsConfigError(
            f"{certfile} and {keyfile} are not a PEM certificate and its unencrypted private key "
            f"({exc.reason or exc})"
        ) from None
    return TlsFiles(certfile, keyfile)
