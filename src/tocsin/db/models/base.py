"""The declarative base and the tenancy columns every tenant row carries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from tocsin.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantMixin:
    """``org_id`` and ``livemode`` on every tenant row: every query filters on both.

    ``org_id`` is indexed unless a table sets ``index_org_id = False``: rows read only through a
    parent (alerts, timeline entries) skip the index, one b-tree less per insert in a storm."""

    index_org_id = True

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    @declared_attr
    def org_id(cls) -> Mapped[str]:  # noqa: N805 - SQLAlchemy passes the mapped class
        return mapped_column(
            String(40), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False, index=cls.index_org_id
        )
