"""Who is acting, and in which tenant: passed to every service call so nothing guesses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Tenant:
    """An org seen in one mode. Live and test data never mix: every query filters on both."""

    org_id: str
    livemode: bool = True


@dataclass(frozen=True, slots=True)
class Actor:
    """A user (through their key or a link), a service key (recorded by name) or the system."""

    type: Literal["user", "api_key", "system"]
    id: str | None
    name: str

    @classmethod
    def system(cls) -> Actor:
        return cls(type="system", id=None, name="Tocsin")
