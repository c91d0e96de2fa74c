"""SQLite history of sweeps: each endpoint is committed as it completes, so a killed sweep keeps what it finished.

One `Store` per database file, injected where it is needed (no module globals). Writers take a run lock
(a `<db>.lock` file, flock) on their first write and hold it until `close()`, so two runs never interleave
their sweeps; a second writer waits up to `lock_timeout` seconds and then gets a StoreError.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

from probe.errors import StoreError
from probe.models import (
    DiscoveryError,
    EndpointResult,
    Finding,
    Frozen,
    Observation,
    Resource,
    ResourceResult,
    Waiver,
    resource_from_legacy,
)

SweepState = Literal["running", "done", "interrupted"]
SWEEP_STATES: tuple[str, ...] = ("running", "done", "interrupted")
_LOCK_POLL_S = 0.05


class SweepRecord(Frozen):
    """One sweep as the store remembers it."""

    id: int
    label: str
    profile: str
    started_at: datetime
    finished_at: datetime | None = None
    state: SweepState
    targets_total: int | None = None
    argv: tuple[str, ...] = ()
    summary: dict[str, Any] | None = None
    endpoints: int = 0
    errors: int = 0


# ------------------------------------------------------------------------------------------------ migrations

_V1 = """
CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label TEXT NOT NULL,
    profile TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'interrupted')),
    targets_total INTEGER,
    argv_json TEXT NOT NULL DEFAULT '[]',
    summary_json TEXT
);
CREATE INDEX sweeps_label ON sweeps (label, state, id);
CREATE TABLE endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    ip TEXT,
    status TEXT NOT NULL,
    compliant INTEGER,
    recorded_at TEXT NOT NULL,
    target_json TEXT NOT NULL,
    UNIQUE (sweep_id, key)
);
CREATE TABLE observations (
    endpoint_id INTEGER PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    observation_json TEXT NOT NULL
);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    endpoint_key TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    clause TEXT NOT NULL,
    waived INTEGER NOT NULL,
    message TEXT NOT NULL,
    evidence_json TEXT NOT NULL,
    waiver_json TEXT
);
CREATE INDEX findings_endpoint ON findings (endpoint_id);
CREATE INDEX findings_rule ON findings (sweep_id, rule);
CREATE TABLE discovery_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    error_json TEXT NOT NULL
);
"""



def _statements(script: str) -> Callable[[sqlite3.Connection], None]:
    """A migration step running `script` statement by statement (inside the caller's transaction)."""

    def run(conn: sqlite3.Connection) -> None:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)

    return run


# Resources apart from endpoints (scan document schema 2). Histories of version 1 keep their ACM/KMS
# pseudo-endpoints in `endpoints`; reading turns them into resources (models.resource_from_legacy).
_V2 = """
CREATE TABLE resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    compliant INTEGER,
    recorded_at TEXT NOT NULL,
    resource_json TEXT NOT NULL,
    findings_json TEXT NOT NULL,
    UNIQUE (sweep_id, key)
);
CREATE INDEX resources_sweep ON resources (sweep_id, id)
"""

# Forward migrations, in order: MIGRATIONS[i] takes the schema from version i to version i + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_statements(_V1), _statements(_V2))
SCHEMA_VERSION = len(MIGRATIONS)


DB_ENV = "TLSPROBE_DB"


def default_db() -> Path:
    """Where the CLI keeps its history: $TLSPROBE_DB, else the user's data directory
    ($XDG_DATA_HOME/tlsprobe/history.db, ~/Library/Application Support on macOS, %LOCALAPPDATA% on Windows)."""
    override = os.environ.get(DB_ENV)
    if override:
        return Path(override)
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "tlsprobe" / "history.db"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _as_store_error(exc: sqlite3.Error, path: Path, action: str) -> StoreError:
    """A one-line StoreError for a sqlite3 failure (full disk, corrupt file, lock)."""
    text = str(exc)
    if "full" in text:
        return StoreError(f"cannot {action} {path}: database or disk is full; free some space and resume the sweep")
    if "disk I/O error" in text:
        return StoreError(
            f"cannot {action} {path}: disk I/O error (disk full, file size limit or failing disk); "
            "fix the disk and resume the sweep"
        )
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return StoreError(f"{path} is not a usable tlsprobe database (corrupt or not SQLite): {text}")
    if "locked" in text or "busy" in text:
        return StoreError(f"database is busy: another process holds {path} ({text})")
    return StoreError(f"cannot {action} {path}: {text}")


class Store:
    """The sweep history in one SQLite file. Open with `Store.open`; close (or use `with`) when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path, lock_timeout: float) -> None:
        self._conn = conn
        self.path = path
        self.lock_timeout = lock_timeout
        self._mutex = threading.RLock()
        self._lock_file: IO[bytes] | None = None

    # -------------------------------------------------------------------------------------------- lifecycle

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> Store:
        """Open (creating it and its parent folders if needed) and migrate the database at `path`."""
        db_path = Path(path)
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(db_path, timeout=max(lock_timeout, 0.0), check_same_thread=False,
                                   isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {db_path}: {exc}") from None
        store = cls(conn, db_path, lock_timeout)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot use write-ahead logging on {db_path} (journal mode {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            store._migrate()
        except sqlite3.Error as exc:
            conn.close()
            raise _as_store_error(exc, db_path, "open") from None
        except StoreError:
            conn.close()
            raise
        return store

    def close(self) -> None:
        """Close the database and release the run lock."""
        with self._mutex:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._release_lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer tlsprobe (schema {current} > {SCHEMA_VERSION})")
        if current == SCHEMA_VERSION:
            return
        held = self._lock_file is not None
        with self._write("migrate"):
            current = self.schema_version()  # another process may have migrated meanwhile
            for version in range(current, SCHEMA_VERSION):
                MIGRATIONS[version](conn)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        if not held:
            self._release_lock()

    # ------------------------------------------------------------------------------------------------ locking

    def _acquire_lock(self) -> None:
        if self._lock_file is not None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(lock_path, "a+b")  # noqa: SIM115 - held until close()
        except OSError as exc:
            raise StoreError(f"cannot create the run lock {lock_path}: {exc.strerror or exc}") from None
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= self.lock_timeout:
                    handle.close()
                    raise StoreError(
                        f"database is busy: another tlsprobe run holds {self.path} "
                        f"(waited {self.lock_timeout:g} s; raise --lock-timeout to wait longer)"
                    ) from None
                time.sleep(min(_LOCK_POLL_S, max(self.lock_timeout - waited, 0.0)))
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction under the run lock; sqlite3 errors become StoreError and roll back."""
        with self._mutex:
            self._acquire_lock()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:  # SQLite rolls back by itself on some errors (disk full)
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise _as_store_error(exc, self.path, action) from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            try:
                cursor = self._conn.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return list(cursor.fetchall())
            except sqlite3.Error as exc:
                raise _as_store_error(exc, self.path, "read") from None

    # ------------------------------------------------------------------------------------------------ writing

    def begin_sweep(self, label: str, profile: str, targets_total: int | None = None,
                    argv: Sequence[str] = ()) -> int:
        """Start a sweep (state running) and return its id."""
        with self._write("start a sweep in") as conn:
            cursor = conn.execute(
                "INSERT INTO sweeps (label, profile, started_at, state, targets_total, argv_json)"
                " VALUES (?, ?, ?, 'running', ?, ?)",
                (label, profile, _now(), targets_total, json.dumps(list(argv))),
            )
            return int(cursor.lastrowid or 0)

    def resume_sweep(self, sweep_id: int) -> SweepRecord:
        """Mark an existing sweep running again (for --resume) and return it."""
        record = self.sweep(sweep_id)
        with self._write("resume a sweep in") as conn:
            conn.execute("UPDATE sweeps SET state = 'running', finished_at = NULL WHERE id = ?", (sweep_id,))
        return record.model_copy(update={"state": "running", "finished_at": None})

    def record(self, sweep_id: int, result: EndpointResult) -> None:
        """Store one endpoint's observation and findings, committed at once (replaces an earlier copy)."""
        target = result.observation.target
        key = target.key
        compliant = None if result.compliant is None else int(result.compliant)
        with self._write("record an endpoint in") as conn:
            conn.execute("DELETE FROM endpoints WHERE sweep_id = ? AND key = ?", (sweep_id, key))
            cursor = conn.execute(
                "INSERT INTO endpoints (sweep_id, key, host, port, ip, status, compliant, recorded_at, target_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sweep_id, key, target.host, target.port, target.ip, result.observation.status, compliant, _now(),
                 target.model_dump_json()),
            )
            endpoint_id = cursor.lastrowid
            conn.execute("INSERT INTO observations (endpoint_id, observation_json) VALUES (?, ?)",
                         (endpoint_id, result.observation.model_dump_json()))
            conn.executemany(
                "INSERT INTO findings (sweep_id, endpoint_id, endpoint_key, rule, severity, clause, waived, message,"
                " evidence_json, waiver_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (sweep_id, endpoint_id, key, f.rule, f.severity.value, f.clause, int(f.waived), f.message,
                     json.dumps(f.evidence, default=str),
                     f.waiver.model_dump_json() if f.waiver else None)
                    for f in result.findings
                ],
            )

    def record_resource(self, sweep_id: int, item: ResourceResult) -> None:
        """Store one resource with its findings, committed at once (replaces an earlier copy)."""
        resource = item.resource
        compliant = None if item.compliant is None else int(item.compliant)
        findings = json.dumps([f.model_dump(mode="json") for f in item.findings])
        with self._write("record a resource in") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO resources (sweep_id, key, provider, kind, compliant, recorded_at,"
                " resource_json, findings_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sweep_id, resource.key, resource.provider, resource.kind, compliant, _now(),
                 resource.model_dump_json(), findings),
            )

    def record_discovery_errors(self, sweep_id: int, errors: Iterable[DiscoveryError]) -> None:
        """Store the discovery errors of a sweep."""
        rows = [(sweep_id, error.model_dump_json()) for error in errors]
        with self._write("record discovery errors in") as conn:
            conn.executemany("INSERT INTO discovery_errors (sweep_id, error_json) VALUES (?, ?)", rows)

    def finish_sweep(self, sweep_id: int, state: SweepState, summary: dict[str, Any] | None = None) -> None:
        """Close a sweep as done or interrupted (optionally with its summary)."""
        if state not in SWEEP_STATES:
            raise StoreError(f"unknown sweep state {state!r}")
        with self._write("finish a sweep in") as conn:
            conn.execute(
                "UPDATE sweeps SET state = ?, finished_at = ?, summary_json = COALESCE(?, summary_json) WHERE id = ?",
                (state, _now(), json.dumps(summary) if summary is not None else None, sweep_id),
            )

    def prune(self, keep: int | None = None, older_than: date | None = None) -> int:
        """Delete sweeps beyond the newest `keep` and/or started before `older_than`; return how many.

        With both, a sweep goes only when neither criterion keeps it.
        """
        if keep is None and older_than is None:
            raise StoreError("prune needs --keep or --older-than")
        if keep is not None and keep < 0:
            raise StoreError("--keep must be 0 or more")
        rows = self._read("SELECT id, started_at FROM sweeps ORDER BY id DESC")
        doomed: list[int] = []
        for index, row in enumerate(rows):
            kept_by_count = keep is not None and index < keep
            started = datetime.fromisoformat(row["started_at"])
            kept_by_date = older_than is not None and started.date() >= older_than
            if not (kept_by_count or kept_by_date):
                doomed.append(int(row["id"]))
        if doomed:
            with self._write("prune") as conn:
                conn.executemany("DELETE FROM sweeps WHERE id = ?", [(i,) for i in doomed])
        return len(doomed)

    # ------------------------------------------------------------------------------------------------ reading

    def _sweep_from_row(self, row: sqlite3.Row) -> SweepRecord:
        return SweepRecord(
            id=row["id"], label=row["label"], profile=row["profile"],
            started_at=datetime.fromisoformat(row["started_at"]),
            finished_at=datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else None,
            state=row["state"], targets_total=row["targets_total"], argv=tuple(json.loads(row["argv_json"])),
            summary=json.loads(row["summary_json"]) if row["summary_json"] else None,
            endpoints=row["endpoints"], errors=row["errors"],
        )

    _SWEEP_SELECT = (
        "SELECT s.*, (SELECT COUNT(*) FROM endpoints e WHERE e.sweep_id = s.id) AS endpoints,"
        " (SELECT COUNT(*) FROM endpoints e WHERE e.sweep_id = s.id AND e.status = 'error') AS errors"
        " FROM sweeps s"
    )

    def sweep(self, sweep_id: int) -> SweepRecord:
        """One sweep; StoreError when there is none with that id."""
        rows = self._read(self._SWEEP_SELECT + " WHERE s.id = ?", (sweep_id,))
        if not rows:
            raise StoreError(f"no sweep {sweep_id} in {self.path}")
        return self._sweep_from_row(rows[0])

    def sweeps(self, label: str | None = None) -> list[SweepRecord]:
        """All sweeps (of one label), oldest first."""
        if label is None:
            rows = self._read(self._SWEEP_SELECT + " ORDER BY s.id")
        else:
            rows = self._read(self._SWEEP_SELECT + " WHERE s.label = ? ORDER BY s.id", (label,))
        return [self._sweep_from_row(row) for row in rows]

    def latest(self, label: str | None = None, state: SweepState | None = "done") -> int | None:
        """Id of the newest sweep (with that label and state), None when there is none."""
        sql = "SELECT MAX(id) FROM sweeps WHERE 1 = 1"
        params: list[Any] = []
        if label is not None:
            sql, params = sql + " AND label = ?", [*params, label]
        if state is not None:
            sql, params = sql + " AND state = ?", [*params, state]
        row = self._read(sql, params)[0]
        return int(row[0]) if row[0] is not None else None

    def previous_done(self, label: str, before_id: int) -> int | None:
        """The last done sweep with `label` older than `before_id` (the `--baseline previous`)."""
        rows = self._read("SELECT MAX(id) FROM sweeps WHERE label = ? AND state = 'done' AND id < ?",
                          (label, before_id))
        return int(rows[0][0]) if rows[0][0] is not None else None

    def done_keys(self, sweep_id: int) -> set[str]:
        """Endpoint keys already recorded in a sweep (what --resume skips)."""
        return {row["key"] for row in self._read("SELECT key FROM endpoints WHERE sweep_id = ?", (sweep_id,))}

    def _endpoint_rows(self, sweep_id: int) -> Iterator[EndpointResult]:
        self.sweep(sweep_id)
        last_id = 0
        while True:
            rows = self._read(
                "SELECT e.id, e.compliant, o.observation_json FROM endpoints e"
                " JOIN observations o ON o.endpoint_id = e.id"
                " WHERE e.sweep_id = ? AND e.id > ? ORDER BY e.id LIMIT 500",
                (sweep_id, last_id),
            )
            if not rows:
                return
            for row in rows:
                last_id = row["id"]
                yield EndpointResult(
                    observation=Observation.model_validate_json(row["observation_json"]),
                    findings=tuple(self._findings(row["id"])),
                    compliant=None if row["compliant"] is None else bool(row["compliant"]),
                )

    def results(self, sweep_id: int) -> Iterator[EndpointResult]:
        """The sweep's endpoint results in recording order, streamed (not all held in memory)."""
        for result in self._endpoint_rows(sweep_id):
            if resource_from_legacy(result) is None:
                yield result

    def resources(self, sweep_id: int) -> Iterator[ResourceResult]:
        """The sweep's resources in recording order, streamed; a history written before resources had
        their own table gives its ACM/KMS pseudo-endpoints back as resources."""
        for result in self._endpoint_rows(sweep_id):
            legacy = resource_from_legacy(result)
            if legacy is not None:
                yield legacy
        last_id = 0
        while True:
            rows = self._read(
                "SELECT id, compliant, resource_json, findings_json FROM resources"
                " WHERE sweep_id = ? AND id > ? ORDER BY id LIMIT 500",
                (sweep_id, last_id),
            )
            if not rows:
                return
            for row in rows:
                last_id = row["id"]
                yield ResourceResult(
                    resource=Resource.model_validate_json(row["resource_json"]),
                    findings=tuple(Finding.model_validate(f) for f in json.loads(row["findings_json"])),
                    compliant=None if row["compliant"] is None else bool(row["compliant"]),
                )

    def _findings(self, endpoint_id: int) -> list[Finding]:
        rows = self._read(
            "SELECT rule, severity, clause, waived, message, evidence_json, waiver_json FROM findings"
            " WHERE endpoint_id = ? ORDER BY id",
            (endpoint_id,),
        )
        return [
            Finding(rule=r["rule"], severity=r["severity"], clause=r["clause"], waived=bool(r["waived"]),
                    message=r["message"], evidence=json.loads(r["evidence_json"]),
                    waiver=Waiver.model_validate_json(r["waiver_json"]) if r["waiver_json"] else None)
            for r in rows
        ]

    def discovery_errors(self, sweep_id: int) -> list[DiscoveryError]:
        rows = self._read("SELECT error_json FROM discovery_errors WHERE sweep_id = ? ORDER BY id", (sweep_id,))
        return [DiscoveryError.model_validate_json(row["error_json"]) for row in rows]

    def error_streaks(self, label: str, before_id: int, depth: int) -> dict[str, int]:
        """Per endpoint key, how many of the last `depth` sweeps of `label` (before `before_id`, done or
        interrupted) in a row, newest first, found it errored. Feeds the diff's --debounce."""
        sweep_rows = self._read(
            "SELECT id FROM sweeps WHERE label = ? AND id < ? AND state != 'running' ORDER BY id DESC LIMIT ?",
            (label, before_id, max(depth, 0)),
        )
        streaks: dict[str, int] = {}
        alive: set[str] | None = None
        for sweep_row in sweep_rows:
            errored = {r["key"] for r in self._read(
                "SELECT key FROM endpoints WHERE sweep_id = ? AND status = 'error'", (sweep_row["id"],))}
            alive = errored if alive is None else alive & errored
            if not alive:
                break
            for key in alive:
                streaks[key] = streaks.get(key, 0) + 1
        return streaks
