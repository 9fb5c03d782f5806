"""Where the API client commands find their server and key: ``tocsin login`` profiles.

The file is ``$XDG_CONFIG_HOME/tocsin/config.toml`` (``~/.config/tocsin/config.toml``), owner-only
(0600) because it holds API keys::

    [profiles."default"]
    url = "https://tocsin.example.com"
    api_key = "sk_live_..."

Read with ``tomllib``; written by ``dumps`` below, which only ever writes tables of strings, so a
few lines of escaping are the whole TOML writer."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import tomllib
from pathlib import Path

from tocsin.cli.common import fail, stderr

EXIT_USAGE = 2
DEFAULT_PROFILE = "default"
PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Profiles = dict[str, dict[str, str]]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tocsin" / "config.toml"


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def dumps(profiles: Profiles) -> str:
    lines = ["# Written by `tocsin login`. It holds API keys: keep it owner-only (chmod 600)."]
    for name in sorted(profiles):
        lines += ["", f"[profiles.{toml_string(name)}]"]
        lines += [f"{toml_string(field)} = {toml_string(value)}" for field, value in profiles[name].items()]
    return "\n".join(lines) + "\n"


def loads(text: str) -> Profiles:
    """The profiles in a config file's text; values that are not strings are left out."""
    raw = tomllib.loads(text).get("profiles", {})
    if not isinstance(raw, dict):
        raise ValueError("'profiles' must be a table")
    return {
        str(name): {str(k): v for k, v in fields.items() if isinstance(v, str)}
        for name, fields in raw.items()
        if isinstance(fields, dict)
    }


def load() -> Profiles:
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        fail(f"USAGE: cannot read {path}: {exc.strerror}", EXIT_USAGE)
    try:
        profiles = loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        fail(f"USAGE: {path} is not a valid config file: {exc}", EXIT_USAGE)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        stderr().print(f"Warning: {path} is readable by others; run chmod 600 on it.", style="yellow")
    return profiles


def save_profile(name: str, fields: dict[str, str]) -> Path:
    """Add or replace one profile, keeping the others. Written to a 0600 temporary file in the same
    directory and renamed over the old one, so a crash never leaves half a file or a wider mode."""
    check_profile_name(name)
    profiles = load()
    profiles[name] = dict(fields)
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".toml")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dumps(profiles))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def check_profile_name(name: str) -> None:
    if not PROFILE_NAME.match(name):
        fail(f"USAGE: profile name {name!r}: use letters, digits, '.', '_' and '-'", EXIT_USAGE)
