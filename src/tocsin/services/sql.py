"""Small SQL helpers shared by services: dialect-aware upserts and tenant-scoped loads."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.domain.actor import Tenant
from tocsin.services.errors import NotFound

M = TypeVar("M")


def dialect_insert(bind: Session | Connection, model: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support, for whichever database the session is bound to."""
    name = bind.dialect.name if isinstance(bind, Connection) else bind.get_bind().dialect.name
    module: Any = postgresql if name == "postgresql" else sqlite
    return module.insert(model)


def load(
    *, session: Session, model: type[M], tenant: Tenant, ident: str, resource: str, for_update: bool = False
) -> M:
    """Load one row of the tenant or raise ``NotFound`` (also for another org's id).

    ``for_update`` locks the row on PostgreSQL until the transaction ends, so two concurrent
    actions on it (two acknowledgements) run one after the other and the second sees the first's
    result; SQLite's writers are serialised already."""
    table: Any = model
    stmt = select(table).where(
        table.id == ident, table.org_id == tenant.org_id, table.livemode == tenant.livemode
    )
    if for_update:
        stmt = stmt.with_for_update(of=table)
    row: M | None = session.scalar(stmt)
    if row is None:
        raise NotFound(resource, ident)
    return row


def tenant_filter(model: Any, tenant: Tenant) -> list[Any]:
    """The two predicates every tenant query carries."""
    return [model.org_id == tenant.org_id, model.livemode == tenant.livemode]


def tenant_bound(model: Any) -> list[Any]:
    """``tenant_filter`` for a statement built once and run many times (the engine's hot path):
    the same two predicates on the bound parameters that ``tenant_binds`` fills."""
    return [model.org_id == bindparam("org_id"), model.livemode == bindparam("livemode")]


def tenant_binds(tenant: Tenant) -> dict[str, Any]:
    """The parameters of ``tenant_bound``'s predicates."""
    return {"org_id": tenant.org_id, "livemode": tenant.livemode}
