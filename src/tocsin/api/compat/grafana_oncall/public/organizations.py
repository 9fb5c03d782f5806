"""Grafana OnCall ``/api/v1/organizations``: the caller's own org, the only one a key can see.

Any valid key may read it (upstream asks for no particular permission beyond "other settings
read", which every key of ours has). ``{id}`` answers 404 for any id but the caller's own (upstream
answers its own org for any id; we do not pretend another id exists). 25 a page."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from tocsin.api.compat.grafana_oncall.public.common import SlashRouter
from tocsin.api.compat.grafana_oncall.public.pagination import paginated, slice_page
from tocsin.api.deps import CurrentKey
from tocsin.services.errors import NotFound

router = SlashRouter()

DEFAULT_SIZE = 25


def _render(org_id: str) -> dict[str, Any]:
    return {"id": org_id}


@router.get("/organizations", summary="List organizations (Grafana OnCall)")
def list_organizations(request: Request, key: CurrentKey) -> dict[str, Any]:
    wanted, page = slice_page(request, [key.org_id], DEFAULT_SIZE)
    return paginated(request, wanted, page.total, [_render(org_id) for org_id in page.items])


@router.get("/organizations/{org_id}", summary="Get the organization (Grafana OnCall)")
def get_organization(org_id: str, key: CurrentKey) -> dict[str, Any]:
    if org_id != key.org_id:
        raise NotFound("organization", org_id)
    return _render(key.org_id)
