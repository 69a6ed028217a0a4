"""The durable store: members' declarations with full history, invitations, reminders, events.

One SQLAlchemy Core schema, the same code on SQLite (the default, a file in the tender
workspace, WAL journal, foreign keys, busy timeout) and PostgreSQL (the network's shared
deployment, `postgresql+psycopg://…`). Every write runs in one transaction: a crash in the
middle of a submission leaves either the whole record or nothing. Declarations are append-only
(a correction is a new version), and invitation tokens are kept only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from coop_tender.models import Member

SOURCES = ("portal", "xlsx", "seed", "import")
"""Where a declaration came from; a detail may follow a colon ("xlsx:capacites-ei-est.xlsx")."""
COORDINATOR = "@coordinateur"
"""The `member_id` of the coordinator's invitation (never a valid member id: it starts with @)."""
SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite has no time zones: store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("dates in the store must be time-zone aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

declarations = Table(
    "declarations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member_id", String(80), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("member_json", Text, nullable=False),
    Column("source", String(200), nullable=False),
    Column("author", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("member_id", "version", name="uq_declaration_version"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member_id", String(80), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member_id", String(80), nullable=False, index=True),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("channel", String(40), nullable=False),
)

declined = Table(
    "declined",
    metadata,
    Column("member_id", String(80), primary_key=True),
    Column("declined", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("who", String(200), nullable=False),
    Column("what", String(60), nullable=False),
    Column("member_id", String(80), nullable=True),
    Column("detail", Text, nullable=False, default=""),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True)
class Declaration:
    """One stored version of a member's declaration."""

    member_id: str
    version: int
    member: Member
    source: str
    author: str
    created_at: datetime


@dataclass(frozen=True)
class Invitation:
    """A personal link's record (the token itself is never stored)."""

    member_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class Event:
    """One line of the audit log: who did what, when."""

    at: datetime
    who: str
    what: str
    member_id: str | None
    detail: str


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL journal, foreign keys and a busy timeout on every SQLite connection."""
    dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front (BEGIN IMMEDIATE) so the busy timeout applies."""
    write = conn.get_execution_options().get("coop_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Store:
    """The store behind a SQLAlchemy URL; use it as a context manager to release connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            self.engine: Engine = create_engine(
                url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        metadata.create_all(self.engine)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: committed at the end of the block, rolled back on any error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(coop_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _log(
        self, conn: Connection, who: str, what: str, member_id: str | None, detail: str = ""
    ) -> None:
        conn.execute(
            events.insert().values(
                at=_now(), who=who, what=what, member_id=member_id, detail=detail
            )
        )

    # ------------------------------------------------------------------ declarations

    def save_declaration(self, member: Member, source: str, author: str) -> int:
        """Append a new version of `member`'s declaration; returns its version number."""
        if source.split(":", 1)[0] not in SOURCES:  # "xlsx:capacites-ei-est.xlsx" is fine
            raise ValueError(f"unknown declaration source {source!r}")
        for attempt in range(5):
            try:
                with self.transaction() as conn:
                    if conn.dialect.name == "postgresql":  # serialise writers of one member
                        conn.execute(
                            text("SELECT pg_advisory_xact_lock(hashtextextended(:m, 0))"),
                            {"m": member.id},
                        )
                    last = conn.execute(
                        select(func.max(declarations.c.version)).where(
                            declarations.c.member_id == member.id
                        )
                    ).scalar()
                    version = (last or 0) + 1
                    conn.execute(
                        declarations.insert().values(
                            member_id=member.id,
                            version=version,
                            member_json=member.model_dump_json(),
                            source=source,
                            author=author,
                            created_at=_now(),
                        )
                    )
                    self._log(conn, author, "declaration", member.id, f"v{version} ({source})")
                    return version
            except IntegrityError:  # another writer took this version number
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _rows_to_declarations(self, rows: Any) -> list[Declaration]:
        return [
            Declaration(
                member_id=r.member_id,
                version=r.version,
                member=Member.model_validate_json(r.member_json),
                source=r.source,
                author=r.author,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def declaration_history(self, member_id: str) -> list[Declaration]:
        """Every version of a member's declaration, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(declarations)
                .where(declarations.c.member_id == member_id)
                .order_by(declarations.c.version)
            ).all()
        return self._rows_to_declarations(rows)

    def latest(self) -> dict[str, Declaration]:
        """The latest stored version per member."""
        newest = (
            select(declarations.c.member_id, func.max(declarations.c.version).label("v"))
            .group_by(declarations.c.member_id)
            .subquery()
        )
        query = select(declarations).join(
            newest,
            (declarations.c.member_id == newest.c.member_id)
            & (declarations.c.version == newest.c.v),
        )
        with self._read() as conn:
            rows = conn.execute(query.order_by(declarations.c.member_id)).all()
        return {d.member_id: d for d in self._rows_to_declarations(rows)}

    def latest_declarations(self) -> dict[str, Member]:
        """The latest declaration per member, with the declined flag applied."""
        flags = self.declined()
        result = {}
        for member_id, decl in self.latest().items():
            member = decl.member
            if member_id in flags and not member.declined:
                member = member.model_copy(update={"declined": True})
            result[member_id] = member
        return result

    def answered(self) -> set[str]:
        """Members who answered: a declaration of their own (not a seed) or a refusal."""
        with self._read() as conn:
            rows = conn.execute(
                select(declarations.c.member_id)
                .where(declarations.c.source != "seed", ~declarations.c.source.like("seed:%"))
                .distinct()
            ).scalars()
            answered = set(rows)
        return answered | self.declined()

    # ------------------------------------------------------------------ declined

    def set_declined(self, member_id: str, value: bool, author: str = "coordinateur") -> None:
        """Record that a member declines (or no longer declines) this tender."""
        with self.transaction() as conn:
            exists = conn.execute(
                select(declined.c.member_id).where(declined.c.member_id == member_id)
            ).first()
            if exists:
                conn.execute(
                    update(declined)
                    .where(declined.c.member_id == member_id)
                    .values(declined=value, updated_at=_now())
                )
            else:
                conn.execute(
                    declined.insert().values(member_id=member_id, declined=value, updated_at=_now())
                )
            self._log(conn, author, "declined" if value else "not_declined", member_id)

    def declined(self) -> set[str]:
        with self._read() as conn:
            rows = conn.execute(select(declined.c.member_id).where(declined.c.declined)).scalars()
            return set(rows)

    # ------------------------------------------------------------------ invitations

    def create_invitation(
        self, member_id: str, expires_at: datetime, author: str = "coordinateur"
    ) -> str:
        """A new personal link token for `member_id` (returned once, stored hashed).

        Any earlier link of the same member stops working.
        """
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.transaction() as conn:
            conn.execute(
                update(invitations)
                .where(invitations.c.member_id == member_id, invitations.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            conn.execute(
                invitations.insert().values(
                    member_id=member_id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            self._log(conn, author, "invitation", member_id, f"expire {expires_at.isoformat()}")
        return token

    def invitation_for_token(self, token: str) -> Invitation | None:
        """The invitation a token belongs to, whatever its state; None for an unknown token."""
        if not token or len(token) > 200:
            return None
        digest = hash_token(token)
        with self._read() as conn:
            row = conn.execute(
                select(invitations).where(invitations.c.token_hash == digest)
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return Invitation(row.member_id, row.created_at, row.expires_at, row.revoked_at)

    def member_for_token(self, token: str, now: datetime) -> str | None:
        """The member a valid token opens; None when unknown, expired or revoked."""
        invitation = self.invitation_for_token(token)
        if invitation is None or not invitation.valid_at(now):
            return None
        return invitation.member_id

    def revoke(self, member_id: str, author: str = "coordinateur") -> int:
        """Revoke every live link of a member; returns how many were revoked."""
        with self.transaction() as conn:
            result = conn.execute(
                update(invitations)
                .where(invitations.c.member_id == member_id, invitations.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
            self._log(conn, author, "revocation", member_id)
            return result.rowcount

    def invitations(self) -> dict[str, Invitation]:
        """The most recent invitation per member (including the coordinator's)."""
        with self._read() as conn:
            rows = conn.execute(select(invitations).order_by(invitations.c.id)).all()
        return {
            r.member_id: Invitation(r.member_id, r.created_at, r.expires_at, r.revoked_at)
            for r in rows
        }

    def create_coordinator_token(self, expires_at: datetime) -> str:
        """The coordinator's link token (hash stored under the reserved id `@coordinateur`)."""
        return self.create_invitation(COORDINATOR, expires_at)

    def is_coordinator_token(self, token: str, now: datetime) -> bool:
        return self.member_for_token(token, now) == COORDINATOR

    # ------------------------------------------------------------------ reminders and events

    def record_reminder(self, member_id: str, when: datetime, channel: str = "email") -> None:
        with self.transaction() as conn:
            conn.execute(
                reminders.insert().values(member_id=member_id, sent_at=when, channel=channel)
            )
            self._log(conn, "coordinateur", "reminder", member_id, channel)

    def reminders(self, member_id: str) -> list[tuple[datetime, str]]:
        """(sent_at, channel) of every reminder sent to a member, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(reminders.c.sent_at, reminders.c.channel)
                .where(reminders.c.member_id == member_id)
                .order_by(reminders.c.sent_at, reminders.c.id)
            ).all()
        return [(r.sent_at, r.channel) for r in rows]

    def log(self, who: str, what: str, member_id: str | None = None, detail: str = "") -> None:
        """Add a line to the audit log (e.g. a refused submission)."""
        with self.transaction() as conn:
            self._log(conn, who, what, member_id, detail)

    def events(self, member_id: str | None = None, limit: int = 200) -> list[Event]:
        """The audit log, newest first."""
        query = select(events).order_by(events.c.id.desc()).limit(limit)
        if member_id is not None:
            query = query.where(events.c.member_id == member_id)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [Event(r.at, r.who, r.what, r.member_id, r.detail) for r in rows]

    # ------------------------------------------------------------------ server secret

    def secret(self) -> bytes:
        """The server's random secret (CSRF tokens), created on first use and kept in the store."""
        for _ in range(3):
            with self._read() as conn:
                value = conn.execute(
                    select(settings.c.value).where(settings.c.key == "secret")
                ).scalar()
            if value:
                return bytes.fromhex(value)
            try:
                with self.transaction() as conn:
                    conn.execute(
                        settings.insert().values(key="secret", value=secrets.token_hex(32))
                    )
            except IntegrityError:  # created concurrently: read it back
                continue
        raise RuntimeError("could not create the server secret")
