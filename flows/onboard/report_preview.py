"""Section 5 of the `feeds try` report: the file loaded by the real ingest code
(`snapshot` + `load_batch`) into the throwaway warehouse, its first rows shown (personal
data masked) and every problem named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from flows.ingest import drop_batch, load_batch, snapshot, value_mappings
from flows.readers import SubmissionError
from flows.registry import Feed

PREVIEW_WIDTH = 28           # a preview cell is cut to this many characters


class _PreviewSection:
    """Section 5; a part of `_Trial` (flows/onboard/trial.py)."""

    def _load(self, con: duckdb.DuckDBPyConnection, feed: Feed, tmp: Path
              ) -> tuple[list[tuple], int, list[tuple], dict[str, int]]:
        """The real ingest of the file with `feed`: (first rows, row count, values
        written to their canonical spelling, required columns -> rows where empty).
        Raises SubmissionError."""
        spec = self.ctx.spec
        received = snapshot(feed, self.ctx.request.file, tmp / "raw")
        try:
            try:
                table, count = load_batch(con, feed, spec, received)
            except duckdb.Error as e:
                # a failure the ingest code does not name as the file's: still the
                # answer to "would a run load it?", so it is reported, not raised
                raise SubmissionError(f"{received.path.name}: the ingest code failed: "
                                      f"{type(e).__name__}: {e}") from None
            columns = ["_row_number", *spec.column_names] + \
                (["_regency"] if feed.is_province_wide else [])
            rows = con.execute(f"select {', '.join(columns)} from {table} "
                               f"order by _row_number limit {int(self.ctx.request.rows)}"
                               ).fetchall()
            # ingest checks the columns a file has; a required column it lacks altogether
            # is empty, which the dataset's quality rules refuse
            required = [c.name for c in spec.columns if c.required]
            empty = dict(zip(required, con.execute(
                "select " + ", ".join(f"count(*) - count({c})" for c in required)
                + f" from {table}").fetchone(), strict=True)) if required else {}
            return rows, count, value_mappings(received), {c: n for c, n in empty.items() if n}
        finally:
            drop_batch(con, received)

    def _section_preview(self, con: duckdb.DuckDBPyConnection, feed: Feed, tmp: Path) -> None:
        spec = self.ctx.spec
        out = self.lines
        which = f"feed {feed.id}" if self.ctx.feed else "the entry below"
        out += ["", f"5. Preview: what a run would load, with {which}"]
        try:
            rows, count, mapped, empty = self._load(con, feed, tmp)
        except SubmissionError as e:
            self.problems.append(str(e))
            out.append(f"   PROBLEM: {e}")
            return
        columns = ["row", *spec.column_names] + (["_regency"] if feed.is_province_wide else [])
        # personal data stays out of terminals and pasted reports: only whether it is there
        masked = {i + 1 for i, c in enumerate(spec.columns) if c.personal_data}
        cells = [["***" if i in masked and v is not None else _preview(v)
                  for i, v in enumerate(r)] for r in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        out.append("   " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
                   .rstrip())
        out.append("   " + "  ".join("-" * w for w in widths))
        for r in cells:
            out.append("   " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True))
                       .rstrip())
        more = f" (the first {len(rows)} shown)" if len(rows) < count else ""
        for column, sent, stored, n in mapped:
            out.append(f"   {column}: {sent!r} is stored as {stored!r} ({n} row(s))")
        if masked:
            out.append("   (*** personal data, not shown: "
                       + ", ".join(c.name for c in spec.columns if c.personal_data) + ")")
        if empty:
            for column, n in empty.items():
                out.append(f"   PROBLEM: required column {column} is empty in {n} of {count} "
                           "row(s); a run's quality checks would quarantine the file")
                if column not in self.unsourced:
                    self.problems.append(f"required column {column} is empty")
            out.append(f"   loads, with empty required values: {count} row(s){more}")
            return
        out.append(f"   loads cleanly: {count} row(s){more}")


def _preview(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= PREVIEW_WIDTH else text[:PREVIEW_WIDTH - 1] + "…"
