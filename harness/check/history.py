"""Read-only SQL access to a run's ledger: the `sends` and `deliveries` views over its CSV files."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from harness.check.tables import SHARED
from harness.ledger.schema import LEDGERS

TEXT_LIMIT = 200   # bytes of a torn or rejected line kept in `ledger_defects`


class History:
    """Context manager over one in-memory DuckDB connection; spills go to a private temp dir, never the repo.

    The CSV files are parsed once into tables (every checker scans them several times). The torn last
    line of a killed writer's file is never read as a row, nor is a line that does not parse: each is
    listed in table `ledger_defects` (ledger, file, kind 'torn' | 'rejected', line, text).
    """

    def __init__(self, ledger_dir: Path, load_window_ns: tuple[int, int] | None = None,
                 journal: Path | None = None) -> None:
        self.ledger_dir = Path(ledger_dir)
        self.load_window_ns = load_window_ns
        # The fault journal sits beside the ledger directory in a run directory.
        self.journal = journal if journal is not None else self.ledger_dir.parent / "faults.jsonl"
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._spill: tempfile.TemporaryDirectory[str] | None = None
        self._shared: set[str] = set()

    def __enter__(self) -> History:
        self._spill = tempfile.TemporaryDirectory(prefix="aftershock-duckdb-")
        self._conn = duckdb.connect(":memory:", config={"temp_directory": self._spill.name})
        # No progress bars: DuckDB draws them on stderr for long queries, even when it is not a terminal.
        self._conn.execute("SET enable_progress_bar = false")
        try:
            self.conn.execute("CREATE TABLE ledger_defects (ledger VARCHAR, file VARCHAR, kind VARCHAR,"
                              " line BIGINT, text VARCHAR)")
            for pattern, (view, columns) in LEDGERS.items():
                self._define_view(view, pattern, columns)
            self._define_heals()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._shared.clear()
        if self._spill is not None:
            self._spill.cleanup()
            self._spill = None

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise RuntimeError("History is not open: use it as a context manager")
        return self._conn

    def table(self, name: str) -> str:
        """The name of a shared table (harness.check.tables), built on first use."""
        if name not in self._shared:
            try:
                for statement in SHARED[name]:
                    self.conn.execute(statement)
            except BaseException:
                self.conn.execute(f"DROP TABLE IF EXISTS {name}")   # no half-built table for the next checker
                raise
            self._shared.add(name)
        return name

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple]:
        return self.conn.execute(query, params).fetchall()

    def records(self, query: str, params: list[Any] | dict[str, Any] | None = None) -> list[dict]:
        """Rows as dicts keyed by column name: the shape of Finding samples."""
        cursor = self.conn.execute(query, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def journal_events(self) -> list[dict[str, Any]]:
        """The fault journal's events in order, without a torn last line; none without a journal."""
        events = []
        if self.journal.exists():
            for line in self.journal.read_text().splitlines():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue  # a torn last line
        return events

    def _define_heals(self) -> None:
        """Table `heals` (fault index, action, target, healed_ns) from the fault journal, if any."""
        self.conn.execute("CREATE TABLE heals (fault INTEGER, action VARCHAR, target VARCHAR, healed_ns BIGINT)")
        rows = [(event["index"], event["action"], event["target"], event["healed_ns"])
                for event in self.journal_events() if event.get("event") == "heal" and event.get("healed_ns")]
        if rows:
            self.conn.executemany("INSERT INTO heals VALUES (?, ?, ?, ?)", rows)

    def load_start_ns(self) -> int | None:
        """Time zero of the run's series: the load window's start, else the first attempt."""
        if self.load_window_ns:
            return self.load_window_ns[0]
        value = self.sql("SELECT min(ts_ns) FROM sends WHERE event = 'A'")[0][0]
        return None if value is None else int(value)

    def has(self, pattern: str) -> bool:
        """Did any process write this kind of ledger? (A checker of an unused pattern reports None.)"""
        return any(self.ledger_dir.glob(pattern))

    def _define_view(self, view: str, pattern: str, columns: dict[str, str]) -> None:
        files = self._complete_files(view, sorted(path for path in self.ledger_dir.glob(pattern) if path.is_file()))
        if files:
            # Files are listed explicitly (no glob in SQL) so odd characters in the path need no escaping
            # beyond quotes. No quote char: fields never contain commas and error texts may contain '"'.
            file_list = ", ".join(_quoted(name) for name in files)
            column_spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
            source = (
                f"SELECT * FROM read_csv([{file_list}], columns = {{{column_spec}}}, header = false,"
                " delim = ',', quote = '', escape = '', auto_detect = false, store_rejects = true,"
                f" rejects_table = 'rejects_{view}', rejects_scan = 'rejects_scan_{view}')"
            )
        else:
            typed_nulls = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in columns.items())
            source = f"SELECT {typed_nulls} WHERE false"
        self.conn.execute(f"CREATE TABLE ledger_{view} AS {source}")
        if files:
            self._record_rejects(view, files, columns)
        self.conn.execute(f"CREATE VIEW {view} AS SELECT * FROM ledger_{view}")

    def _complete_files(self, view: str, paths: list[Path]) -> dict[str, str]:
        """File to read -> the ledger file it stands for: a file whose last line is torn is read from a
        copy of its complete lines (in the spill directory), and the torn line recorded."""
        assert self._spill is not None
        files: dict[str, str] = {}
        for path in paths:
            complete, tail = _split_torn_tail(path)
            if tail:
                self.conn.execute("INSERT INTO ledger_defects VALUES (?, ?, 'torn', NULL, ?)",
                                  [view, path.name, tail.decode("ascii", errors="replace")])
                if complete:
                    copy = Path(self._spill.name) / f"complete-{len(files)}-{path.name}"
                    _copy_prefix(path, copy, complete)
                    files[str(copy)] = path.name
            elif path.stat().st_size:
                files[str(path)] = path.name
        return files

    def _record_rejects(self, view: str, files: dict[str, str], columns: dict[str, str]) -> None:
        """Lines DuckDB could not parse, and rows without their key (an id or a subject) or a time, go
        to `ledger_defects`."""
        rejected = self.sql(
            f"SELECT s.file_path, e.line, any_value(e.csv_line) FROM rejects_{view} e"
            f" JOIN rejects_scan_{view} s USING (scan_id, file_id) GROUP BY s.file_path, e.line ORDER BY 1, 2")
        rows = [[view, files.get(path, path), "rejected", line, (text or "").strip()[:TEXT_LIMIT]]
                for path, line, text in rejected]
        if rows:
            self.conn.executemany("INSERT INTO ledger_defects VALUES (?, ?, ?, ?, ?)", rows)
        self.conn.execute(f"DROP TABLE rejects_{view}")
        self.conn.execute(f"DROP TABLE rejects_scan_{view}")
        missing = " OR ".join(f"{key} IS NULL" for key in KEYS if key in columns)
        keyless = self.sql(f"SELECT count(*) FROM ledger_{view} WHERE {missing}")[0][0]
        if keyless:
            self.conn.execute("INSERT INTO ledger_defects SELECT ?, NULL, 'rejected', NULL, 'no id or time'"
                              " FROM range(?)", [view, keyless])
            self.conn.execute(f"DELETE FROM ledger_{view} WHERE {missing}")


KEYS = ("id", "subject", "ts_ns")   # what a row of a ledger that has the column cannot be without


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _split_torn_tail(path: Path, chunk: int = 1 << 16) -> tuple[int, bytes]:
    """(length of the file's complete lines, the start of the torn line after them), read from the end."""
    with open(path, "rb") as handle:
        position = end = handle.seek(0, 2)
        while position > 0:
            step = min(chunk, position)
            position -= step
            handle.seek(position)
            newline = handle.read(step).rfind(b"\n")
            if newline >= 0:
                position += newline + 1
                break
        handle.seek(position)
        return position, handle.read(min(end - position, TEXT_LIMIT))


def _copy_prefix(source: Path, target: Path, length: int) -> None:
    with open(source, "rb") as reader, open(target, "wb") as writer:
        left = length
        while left:
            block = reader.read(min(left, 1 << 20))
            if not block:
                break
            writer.write(block)
            left -= len(block)
