"""Which audit events concern which thing: an index of (event, entity, key).

An event about one thing carries its key in ``audit_events.entity_key``. A register load records
one ``asset.register`` event per 1,000 assets, keyed ``FIRST..LAST (N)``: the tags it concerns
are only inside its JSON. So that an auditor looking for one asset tag finds those events
without reading the JSON of every event, each tag of such an event is written here, in the same
transaction as the event. The index is not part of what the hash chain covers: the events are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    insert,
    select,
    union,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.audit import AuditEvent, ChainedEvent
from ledger.persistence.records import AuditChainHeadRecord, AuditEventRecord, Base

#: Events about one thing are found by their own key: indexed, not scanned.
Index("ix_audit_events_entity_key", AuditEventRecord.__table__.c.entity_key)


class AuditEventKeyRecord(Base):
    """One thing (entity and key) an audit event about several things concerns."""

    __tablename__ = "audit_event_keys"
    __table_args__ = (Index("ix_audit_event_keys_entity_key", "entity_key", "entity"),)

    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("audit_events.id"),
        primary_key=True)
    entity: Mapped[str] = mapped_column(String(60), primary_key=True)
    entity_key: Mapped[str] = mapped_column(String(200), primary_key=True)


class SqlAlchemyAuditKeyIndex:
    """Writes and reads :class:`AuditEventKeyRecord` rows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def index_last(self, entity: str, keys: Sequence[str]) -> int:
        """Index ``keys`` under the event this transaction appended last; its id.

        The chain's head row is locked by the append, so the head's sequence is that event's.
        """
        head = self.session.get(AuditChainHeadRecord, 1)
        assert head is not None, "index_last follows an append"
        event_id = self.session.scalar(select(AuditEventRecord.id).where(
            AuditEventRecord.sequence == head.sequence))
        assert event_id is not None
        rows = [{"event_id": event_id, "entity": entity, "entity_key": key[:200]}
                for key in dict.fromkeys(keys)]
        if rows:
            self.session.execute(insert(AuditEventKeyRecord), rows)
        return event_id

    def events_of(self, key: str, entity: str | None = None) -> list[int]:
        """Ids of the indexed events that concern ``key`` (of ``entity`` if given)."""
        query = select(AuditEventKeyRecord.event_id).where(
            AuditEventKeyRecord.entity_key == key)
        if entity is not None:
            query = query.where(AuditEventKeyRecord.entity == entity)
        return list(self.session.scalars(query.order_by(AuditEventKeyRecord.event_id)))

    def find(self, *, key: str | None = None, entity: str | None = None,
             action: str | None = None, actor: str | None = None,
             since: datetime | None = None, limit: int | None = None) -> list[ChainedEvent]:
        """Events in chain order, filtered; with ``key``, those about that thing, whether
        their own key or one of the things a chunk event concerns (both indexed lookups)."""
        e = AuditEventRecord
        query = select(e).order_by(e.id)
        if key is not None:
            own = select(e.id.label("id")).where(e.entity_key == key)
            indexed = select(AuditEventKeyRecord.event_id.label("id")).where(
                AuditEventKeyRecord.entity_key == key)
            if entity is not None:
                own = own.where(e.entity == entity)
                indexed = indexed.where(AuditEventKeyRecord.entity == entity)
            query = query.where(e.id.in_(select(union(own, indexed).subquery().c.id)))
        for column, value in ((e.entity, entity), (e.action, action), (e.actor, actor)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(e.occurred_at >= since)
        if limit is not None:
            query = query.limit(limit)
        return [_chained(r) for r in self.session.scalars(query)]

    def by_sequence(self, sequence: int) -> ChainedEvent | None:
        record = self.session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.sequence == sequence)).first()
        return None if record is None else _chained(record)


def _chained(r: AuditEventRecord) -> ChainedEvent:
    return ChainedEvent(r.id, r.sequence, AuditEvent(
        r.occurred_at, r.actor, r.action, r.entity, r.entity_key, r.before, r.after, r.reason),
        r.previous_hash, r.hash)
