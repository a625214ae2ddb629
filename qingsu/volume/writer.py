"""Writing generated rows in bulk: COPY on PostgreSQL (psycopg 3 `cursor.copy`), executemany on SQLite.

Each chunk is one transaction: its citizens, petitions and everything that hangs off them, and the petition number
counters (`petition_sequence`) raised to the highest number handed out, so later real petitions never reuse one.
Primary keys that other rows refer to are taken up front: from the table's sequence on PostgreSQL (so concurrent
inserts never collide), from the current maximum on SQLite.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

from models import Base
from qingsu.volume.clock import EPOCH
from qingsu.volume.lifecycle import Sink

# Column order of the rows `qingsu.volume.lifecycle` produces, table by table, in foreign-key order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "citizen": (
        "id",
        "district_code",
        "openid",
        "kind",
        "name",
        "credit_code",
        "phone",
        "subscribed",
        "last_message_at",
        "created_at",
    ),
    "petition": (
        "id",
        "number",
        "district_code",
        "citizen_id",
        "kind",
        "nature",
        "complexity",
        "dept_type",
        "title",
        "content",
        "location",
        "latitude",
        "longitude",
        "contact_name",
        "contact_phone",
        "channel",
        "external_id",
        "intake_digest",
        "state",
        "level",
        "current_unit_id",
        "lead_unit_id",
        "via_city",
        "origin_unit_id",
        "created_by_id",
        "accepted_at",
        "time_limit_days",
        "deadline",
        "light",
        "yellow_at",
        "handling_round",
        "closed_at",
        "reply_delivered_at",
        "evaluation_requested_at",
        "evaluation_reminded_at",
        "inadmissible_code",
        "reject_note",
        "suggestion",
        "suggestion_accepted",
        "created_at",
        "updated_at",
        "version",
        "duplicate_of_id",
    ),
    "petition_cooperating_unit": ("petition_id", "unit_id"),
    "petition_event": (
        "petition_id",
        "action",
        "from_state",
        "to_state",
        "actor_user_id",
        "actor_citizen_id",
        "actor_label",
        "unit_id",
        "note",
        "data",
        "created_at",
    ),
    "reply": (
        "id",
        "petition_id",
        "handling_round",
        "unit_id",
        "author_id",
        "petitioner_info",
        "policy_basis",
        "result",
        "responsible_person",
        "contact_phone",
        "state",
        "review_note",
        "created_at",
        "sent_at",
        "deadline",
        "on_time",
        "linked_from_id",
    ),
    "evaluation": (
        "petition_id",
        "handling_round",
        "unit_id",
        "satisfaction",
        "resolution",
        "comment",
        "created_at",
    ),
    "extension_request": (
        "id",
        "petition_id",
        "unit_id",
        "requested_by_id",
        "extra_working_days",
        "reason",
        "state",
        "decided_by_id",
        "decided_at",
        "decision_note",
        "old_deadline",
        "new_deadline",
        "created_at",
        "handling_round",
        "needs_city",
    ),
    "assessment": (
        "petition_id",
        "unit_id",
        "handling_round",
        "outcome",
        "assessor_id",
        "note",
        "created_at",
    ),
}
SINK_LISTS = {
    "citizen": "citizens",
    "petition": "petitions",
    "petition_cooperating_unit": "cooperating",
    "petition_event": "events",
    "reply": "replies",
    "evaluation": "evaluations",
    "extension_request": "extensions",
    "assessment": "assessments",
}
ID_BLOCK = 5_000


def check_columns() -> None:
    """`COLUMNS` names exactly the columns of each table (an `id` key may be left to the database).

    A column added to a model must be given a value here on purpose, so it fails loudly rather than being left
    empty in generated data.

    :raises AssertionError: naming the table and columns, when the models changed and this module did not.
    """
    for table_name, names in COLUMNS.items():
        table = Base.metadata.tables[table_name]
        unknown = set(names) - set(table.c.keys())
        assert not unknown, f"{table_name}: no column(s) {sorted(unknown)}"
        missing = set(table.c.keys()) - set(names) - {"id"}
        assert not missing, f"seed-volume does not write {table_name}.{', '.join(sorted(missing))}"


class Writer:
    """Bulk writes for one database, on a thread of their own so the next chunk is generated while the database
    takes the last one in. `ts(epoch_seconds)` is how instants are passed to it; `take_id(table)` hands out keys.

    Use: `submit` each chunk, then `close` (which waits for the writes and refreshes the planner's statistics), or
    `abandon` on error. An error of the writing thread is raised by the next `submit` or by `close`.
    """

    ts: Callable[[int], Any]

    def __init__(self, engine: Engine) -> None:
        check_columns()
        self.engine = engine
        self.conn: Connection = engine.connect()
        self._ids: dict[str, list[int]] = {}
        self.rows: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        self._queue: queue.Queue[tuple[Sink, dict[tuple[str, str], int]] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="seed-volume-writer", daemon=True)
        self._started = False

    def take_id(self, table: str) -> int:
        """A fresh primary key of `table`."""
        block = self._ids.get(table)
        if not block:
            block = self._ids[table] = self._block(table)
        return block.pop()

    def _block(self, table: str) -> list[int]:
        raise NotImplementedError

    def submit(self, sink: Sink, sequences: dict[tuple[str, str], int]) -> None:
        """Queue a chunk for writing (waits while the previous one is still queued).

        :raises BaseException: whatever made an earlier chunk fail.
        """
        if not self._started:
            self._started = True
            self._thread.start()
        self._check()
        self._queue.put((sink, dict(sequences)))

    def close(self) -> None:
        """Wait for every queued chunk, refresh statistics, release the connections.

        :raises BaseException: whatever made a chunk fail.
        """
        try:
            self._stop()
            self._check()
            self.analyze()
        finally:
            self.conn.close()

    def abandon(self) -> None:
        """Stop after the chunk being written (its transaction commits or rolls back on its own) and disconnect."""
        self._stop()
        self.conn.close()

    def _stop(self) -> None:
        if self._started:
            self._queue.put(None)
            self._thread.join()
            self._started = False

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                self.write(*item)
            except BaseException as exc:
                self.conn.rollback()
                self._error = exc

    def write(self, sink: Sink, sequences: dict[tuple[str, str], int]) -> None:
        """Insert the chunk and raise the number counters, in one transaction."""
        for table in COLUMNS:
            rows = getattr(sink, SINK_LISTS[table])
            if rows:
                self._insert(table, rows)
                self.rows[table] += len(rows)
        if sequences:
            self._raise_sequences(sequences)
        self.conn.commit()

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def _raise_sequences(self, sequences: dict[tuple[str, str], int]) -> None:
        raise NotImplementedError

    def analyze(self) -> None:
        """Refresh the planner's statistics of the tables written to, where the database keeps them."""


class PostgresWriter(Writer):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.ts = _naive_utc
        # Keys come from a connection of their own (the writing thread owns `conn`), outside any transaction.
        self.id_conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # Losing the last chunks to a crash is acceptable for generated data; waiting on every commit's flush is not.
        self.conn.exec_driver_sql("SET synchronous_commit TO OFF")
        self.conn.commit()

    def _block(self, table: str) -> list[int]:
        rows = self.id_conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": ID_BLOCK},
        ).scalars()
        return sorted(rows, reverse=True)

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        raw = self.conn.connection.dbapi_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def _raise_sequences(self, sequences: dict[tuple[str, str], int]) -> None:
        codes, days, lasts = zip(*((code, day, last) for (code, day), last in sequences.items()), strict=True)
        self.conn.execute(
            text(
                "INSERT INTO petition_sequence (district_code, day, last) "
                "SELECT * FROM unnest(CAST(:codes AS varchar[]), CAST(:days AS varchar[]), CAST(:lasts AS int[])) "
                "ON CONFLICT (district_code, day) DO UPDATE "
                "SET last = GREATEST(petition_sequence.last, EXCLUDED.last)"
            ),
            {"codes": list(codes), "days": list(days), "lasts": list(lasts)},
        )

    def analyze(self) -> None:
        self.conn.exec_driver_sql(f"ANALYZE {', '.join(COLUMNS)}, petition_sequence")
        self.conn.commit()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.id_conn.close()

    def abandon(self) -> None:
        try:
            super().abandon()
        finally:
            self.id_conn.close()


class SQLiteWriter(Writer):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.ts = _sqlite_text
        # Keys follow the current maxima, read now, before the writing thread takes the database's write lock.
        self._next = {
            table: int(
                self.conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").scalar_one()
            )
            for table, names in COLUMNS.items()
            if names[0] == "id"
        }
        self.conn.commit()

    def _block(self, table: str) -> list[int]:
        start = self._next[table]
        self._next[table] = start + ID_BLOCK
        return list(range(start + ID_BLOCK - 1, start - 1, -1))

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        names = COLUMNS[table]
        marks = ", ".join("?" * len(names))
        self.conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)

    def _raise_sequences(self, sequences: dict[tuple[str, str], int]) -> None:
        self.conn.exec_driver_sql(
            "INSERT INTO petition_sequence (district_code, day, last) VALUES (?, ?, ?) "
            "ON CONFLICT (district_code, day) DO UPDATE SET last = max(petition_sequence.last, excluded.last)",
            [(code, day, last) for (code, day), last in sequences.items()],
        )


def _naive_utc(t: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=t)


def _sqlite_text(t: int) -> str:
    # The text SQLAlchemy's SQLite DateTime stores (always with microseconds, so text comparisons order correctly).
    return (EPOCH + dt.timedelta(seconds=t)).isoformat(" ", "microseconds")


def writer_for(engine: Engine) -> Writer:
    """The writer for the engine's database.

    :raises ValueError: for a database other than PostgreSQL and SQLite.
    """
    if engine.dialect.name == "postgresql":
        return PostgresWriter(engine)
    if engine.dialect.name == "sqlite":
        return SQLiteWriter(engine)
    raise ValueError(f"seed-volume writes to PostgreSQL or SQLite, not {engine.dialect.name}")
