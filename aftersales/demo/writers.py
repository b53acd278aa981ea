"""How ``aftersales.demo.generator`` writes its rows: ``bulk_create`` anywhere, binary COPY on
PostgreSQL, and a pipeline of writer threads.

Rows are dicts keyed by column attname; a foreign-key value may still be the
parent row's dict, resolved to its id (set when the parent was inserted) just
before the child rows are written.
"""

from __future__ import annotations

import json
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter

from django.db import IntegrityError, connection
from django.utils import timezone


class BulkCreateWriter:
    """Insert dict rows with ``bulk_create``; sets ``row["id"]`` from the returned PKs.

    Values given for ``auto_now_add`` fields (``Customer.created_at``) are
    written back afterwards: ``bulk_create`` would stamp "now".
    """

    name = description = "bulk_create"

    def __init__(self, batch: int):
        self.batch = batch
        self.counts: Counter = Counter()
        self._lock = threading.Lock()  # counts, when several writer threads share this writer

    def begin_chunk(self, referenced: dict) -> None:
        return None

    def end_chunk(self, log) -> None:
        pass

    def insert(self, model, rows: list[dict], fks: Sequence[str] = (), *, log=None) -> None:
        if not rows:
            return
        _resolve(rows, fks)
        objs = [model(**row) for row in rows]
        model.objects.bulk_create(objs, batch_size=self.batch)
        for row, obj in zip(rows, objs, strict=True):
            row["id"] = obj.pk
        backdated = [
            f.attname for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False) and f.attname in rows[0]
        ]
        if backdated:
            for row, obj in zip(rows, objs, strict=True):
                for attname in backdated:
                    setattr(obj, attname, row[attname])
            model.objects.bulk_update(objs, backdated, batch_size=min(self.batch, 1000))
        with self._lock:
            self.counts[model] += len(rows)


class CopyWriter:
    """PostgreSQL: binary ``COPY … FROM STDIN`` (psycopg), several times faster than ``bulk_create``.

    Ids are reserved from each table's identity sequence first, so rows can
    be linked before they are sent. All rows of a model in one call must have
    the same keys; the model's other columns get their defaults.

    Foreign keys: PostgreSQL checks Django's (deferred) foreign keys row by
    row at commit, about half of the server's work here. When the database
    role may set ``session_replication_role`` (a superuser, as in development)
    and ``row_fk_checks`` is off, each chunk runs with ``SET LOCAL
    session_replication_role = replica`` (no triggers, as ``pg_dump
    --disable-triggers`` restores do) and keeps the same guarantee itself:
    it locks the existing rows the chunk refers to ``FOR KEY SHARE`` (as the
    triggers would: they cannot be deleted before the chunk commits) and
    fails if one is missing; before commit, every foreign key of every row
    written must name either such a row or a row written by the chunk,
    otherwise ``IntegrityError`` rolls the chunk back.
    """

    name = "copy"
    #: PostgreSQL column type (as Django declares it) → psycopg type name for binary COPY.
    #: jsonb is sent pre-encoded as raw bytes: its binary input is a version byte (1) and the JSON text.
    BINARY_TYPES = {
        "bigint": "int8",
        "integer": "int4",
        "smallint": "int2",
        "boolean": "bool",
        "text": "text",
        "varchar": "text",
        "numeric": "numeric",
        "double precision": "float8",
        "timestamp with time zone": "timestamptz",
        "date": "date",
        "jsonb": "bytea",
    }

    def __init__(self, batch: int, *, row_fk_checks: bool = False):
        self.batch = batch
        self.counts: Counter = Counter()
        self.now = timezone.now()
        self._plans: dict = {}
        self.set_based_fk_checks = not row_fk_checks and self._may_skip_fk_triggers()
        self._lock = threading.Lock()  # counts, when several writer threads share this writer

    @property
    def description(self) -> str:
        return "copy, " + ("foreign keys checked per chunk" if self.set_based_fk_checks else "row FK checks")

    @staticmethod
    def _may_skip_fk_triggers() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper OR (current_setting('server_version_num')::int >= 150000 "
                "AND has_parameter_privilege('session_replication_role', 'SET')) FROM pg_roles WHERE rolname = current_user"
            )
            row = cursor.fetchone()
        return bool(row and row[0])

    def begin_chunk(self, referenced: dict) -> _ChunkLog:
        """Start of a chunk's transaction; returns what ``insert`` and ``end_chunk`` keep track in."""
        log = _ChunkLog(referenced)
        with connection.cursor() as cursor:
            # Demo data: do not wait for the WAL flush at each chunk's commit.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            if self.set_based_fk_checks:
                cursor.execute("SET LOCAL session_replication_role = replica")
                quote = connection.ops.quote_name
                for model, ids in referenced.items():
                    pk = quote(model._meta.pk.column)
                    cursor.execute(
                        f"SELECT {pk} FROM {quote(model._meta.db_table)} WHERE {pk} = ANY(%s) FOR KEY SHARE",
                        [list(ids)],
                    )
                    missing = set(ids) - {row[0] for row in cursor.fetchall()}
                    if missing:
                        raise IntegrityError(f"seed_demo: {model._meta.label} {sorted(missing)} no longer exist")
        return log

    def end_chunk(self, log: _ChunkLog) -> None:
        """Before the chunk commits: every foreign key written names a locked or a written row."""
        if not self.set_based_fk_checks:
            return
        for model, rows in log.written:
            for field in model._meta.concrete_fields:
                if not field.is_relation:
                    continue
                target = field.related_model
                written = log.ids.get(target, ())
                existing = log.referenced.get(target, ())
                attname = field.attname
                for row in rows:
                    value = row.get(attname)  # a column left to its default is None
                    if value is not None and value not in written and value not in existing:
                        raise IntegrityError(
                            f"seed_demo: {model._meta.label} {row['id']} refers to a missing "
                            f"{target._meta.label} {value} ({field.name})"
                        )

    def insert(self, model, rows: list[dict], fks: Sequence[str] = (), *, log: _ChunkLog | None = None) -> None:
        if not rows:
            return
        _resolve(rows, fks)
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            for row, pk in zip(rows, ids, strict=True):
                row["id"] = pk
            if log is not None:
                log.written.append((model, rows))
                log.ids[model] = set(ids)
            sql, types, getter, constants, json_keys = self._plan(model, rows[0])
            for key in json_keys:
                for row in rows:
                    row[key] = _jsonb(row[key])
            with cursor.cursor.copy(sql) as copy:
                copy.set_types(types)
                write = copy.write_row
                if constants:
                    for row in rows:
                        write(getter(row) + constants)
                else:
                    for row in rows:
                        write(getter(row))
        with self._lock:
            self.counts[model] += len(rows)

    def _plan(self, model, sample: dict):
        key = (model, tuple(sample))
        plan = self._plans.get(key)
        if plan is None:
            given, missing = [], []
            for field in model._meta.concrete_fields:
                if field.attname in sample:
                    given.append(field)
                elif not field.primary_key:
                    missing.append(field)
            fields = given + missing
            types = [self.BINARY_TYPES[field.db_type(connection).split("(")[0]] for field in fields]
            quote = connection.ops.quote_name
            columns = ", ".join(quote(field.column) for field in fields)
            sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN (FORMAT BINARY)"
            constants = tuple(self._default(field) for field in missing)
            json_keys = [field.attname for field in given if field.get_internal_type() == "JSONField"]
            plan = (sql, types, itemgetter(*[field.attname for field in given]), constants, json_keys)
            self._plans[key] = plan
        return plan

    def _default(self, field):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return self.now
        value = field.get_default()  # "" for text columns without a default, as Django saves them
        return _jsonb(value) if field.get_internal_type() == "JSONField" else value


class _ChunkLog:
    """What one chunk wrote (for the foreign-key check) and the existing rows it refers to."""

    def __init__(self, referenced: dict):
        self.referenced = referenced
        self.written: list[tuple] = []
        self.ids: dict = {}


_json_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_JSONB_EMPTY = {dict: b"\x01{}", list: b"\x01[]"}


def _jsonb(value) -> bytes:
    """jsonb binary input: version 1, then the JSON text."""
    if not value and value.__class__ in _JSONB_EMPTY:
        return _JSONB_EMPTY[value.__class__]
    return b"\x01" + _json_encode(value).encode()


def make_writer(batch: int, *, copy: bool | None = None, row_fk_checks: bool = False):
    """COPY on PostgreSQL (unless ``copy=False``), ``bulk_create`` elsewhere."""
    if copy is None:
        copy = connection.vendor == "postgresql"
    if copy and connection.vendor != "postgresql":
        raise ValueError("COPY needs PostgreSQL")
    return CopyWriter(batch, row_fk_checks=row_fk_checks) if copy else BulkCreateWriter(batch)


def _resolve(rows: list[dict], fks: Sequence[str]) -> None:
    """Parent rows (dicts) → their ids."""
    for att in fks:
        for row in rows:
            value = row[att]
            if value.__class__ is dict:
                row[att] = value["id"]


def pipelined(chunks: Iterable, write: Callable, *, writers: int) -> None:
    """Generate (and number) chunks here while ``writers`` threads write them, each on its own connection.

    PostgreSQL does its share (parsing, index updates) in the writers' backends
    meanwhile. An error in a writer stops everything and is re-raised here.
    """
    pending: queue.Queue = queue.Queue(maxsize=writers + 1)
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            while (chunk := pending.get()) is not None:
                if not failure:
                    write(chunk)
        except BaseException as exc:
            failure.append(exc)
            while pending.get() is not None:  # let the producer finish putting
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, name=f"seed_demo-writer-{i}", daemon=True) for i in range(writers)]
    for thread in threads:
        thread.start()
    try:
        for chunk in chunks:
            if failure:
                break
            pending.put(chunk)
    finally:
        for _ in threads:
            pending.put(None)
        for thread in threads:
            thread.join()
    if failure:
        raise failure[0]
