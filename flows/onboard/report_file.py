"""Section 1 of the `feeds try` report, the file: its sample sniffed, the header found,
the feed it is first read with, and what to configure when it cannot be read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flows.onboard.entry_yaml import _yaml_flow
from flows.onboard.sniff import (
    _Grid,
    _sniff_csv,
    _sniff_xlsx,
    _Sniffed,
    detect_header,
    number_marks,
)
from flows.onboard.text import regency_slug
from flows.readers import MAX_HEADER_SCAN_ROWS, ReadInfo, SubmissionError
from flows.registry import PROVINCE, Feed


class _Stop(Exception):
    """The report ends early (the file cannot be read at all)."""


class _FileSection:
    """Section 1 of the report; a part of `_Trial` (flows/onboard/trial.py), whose
    `ctx`, `lines` and `problems` it fills."""

    def _sniff(self, name: str) -> _Sniffed:
        ctx, req = self.ctx, self.ctx.request
        fmt = ctx.format
        given = ctx.feed.options if ctx.feed else {}
        sheet = req.sheet if req.sheet is not None else given.get("sheet")
        try:
            if fmt == "csv":
                sniffed = _sniff_csv(req.file, req.delimiter)
            elif fmt == "xlsx":
                sniffed = _sniff_xlsx(req.file, name, sheet)
            else:
                sniffed = _Sniffed(fmt, _Grid([], []), [], {}, None)
        except SubmissionError as e:
            self.lines += [f"1. The file: {name}", f"   format      {fmt}"]
            self.problems.append(str(e))
            self.lines += ["", f"   cannot read it: {e}", "", self._verdict()]
            raise _Stop from None
        if fmt in ("csv", "xlsx"):
            if req.header_rows:
                sniffed.header_rows, sniffed.header_why = req.header_rows, "given"
            else:
                sniffed.header_rows = detect_header(sniffed.grid)
                sniffed.header_why = "found"
            start = (sniffed.header_rows or [0])[-1]
            values = [t for r, m in zip(sniffed.grid.texts[start:],
                                        sniffed.grid.number_texts[start:], strict=True)
                      for t, is_text in zip(r, m, strict=True) if is_text]
            marks, example = number_marks(values)
            if fmt == "csv" or marks:
                shown = ", ".join(f"{k} {v!r}" for k, v in marks.items()) or "plain (1234.5)"
                sniffed.found.append(("numbers", shown + (f", e.g. {example!r}" if example
                                                          else "")))
            sniffed.options.update(marks)
        return sniffed

    def _header_options(self, sniffed: _Sniffed) -> dict[str, Any]:
        """Reader options that put the header where it was found."""
        rows = sniffed.header_rows
        if not rows:
            return {}
        if len(rows) > 1:
            return {"header_rows": rows}
        if sniffed.format == "csv":
            return {"skip_lines": rows[0] - 1} if rows[0] > 1 else {}
        return {"header_row": rows[0]}

    def _probe_feed(self, sniffed: _Sniffed, own: bool = True) -> Feed:
        """The feed the file is first read with, to see its headers: the --feed entry (or,
        `own` False, that entry with the header found), or the options found."""
        ctx = self.ctx
        if ctx.feed is not None:
            feed = self._given_feed()
            if own:
                return feed
            options = {k: v for k, v in feed.options.items()
                       if k not in ("header_row", "header_rows", "skip_lines")}
            return replace(feed, options={**options, **self._header_options(sniffed)})
        options = {**sniffed.options, **self._header_options(sniffed), **self._overrides()}
        if ctx.format == "xlsx" and "header_row" not in options \
                and "header_rows" not in options:
            options["header_row"] = 1   # nothing found: read the first row, and say so
        return Feed(id=self._entry_id(), regency=ctx.regency, dataset=ctx.spec.name,
                    channel="landing", format=ctx.format, columns={},
                    base_dir=ctx.registry.path.parent, path="-", options=options)

    def _entry_id(self) -> str:
        ctx = self.ctx
        if ctx.feed is not None:
            return ctx.feed.id
        slug = "prov-banten" if ctx.regency == PROVINCE else regency_slug(ctx.regency_name)
        return f"{slug}.{ctx.spec.name}"

    def _section_found(self, sniffed: _Sniffed, info: ReadInfo | None) -> None:
        ctx, req = self.ctx, self.ctx.request
        out = self.lines
        out.append(f"1. The file: {req.file.name}")
        how = (f"(feed {ctx.feed.id})" if ctx.feed else
               f"(from the extension {req.file.suffix.lower()})")
        out.append(f"   format      {ctx.format} {how}")
        for what, text in sniffed.found:
            out.append(f"   {what:11} {text}")
        if sniffed.format in ("csv", "xlsx"):
            rows = sniffed.header_rows
            if not rows:
                out.append("   header      not found: no row among the first "
                           f"{MAX_HEADER_SCAN_ROWS} has two text cells followed by a row with "
                           "a number; give it with --header-rows N")
            elif len(rows) > 1:
                merged = " (merged cells)" if sniffed.grid.merges else ""
                out.append(f"   header      rows {', '.join(map(str, rows))} ({sniffed.header_why}"
                           f"): row {rows[0]} labels the columns below it{merged} -> "
                           f"header_rows: {_yaml_flow(rows)}")
            else:
                out.append(f"   header      row {rows[0]} ({sniffed.header_why})")
        if ctx.regency_note:
            out.append(f"   regency     {ctx.regency_note}")
        if ctx.feed is not None:
            used = self._given_feed().options
            for key, value in sniffed.options.items():
                if key != "sheet" and used.get(key) != value:
                    out.append(f"   note        the file looks like {key} {value!r}; feed "
                               f"{ctx.feed.id} reads it with {used.get(key)!r}")
        if self.read_note:
            out.append(f"   note        {self.read_note}")
        if info is not None:
            title = info.title
            out.append("   title       " + (" | ".join(title) if title else "(none)"))
            out.append("   columns     " + " | ".join(info.headers))

    def _cannot_read(self, reason: str, sniffed: _Sniffed) -> int:
        """A file the reader refuses: the reason and what to configure."""
        self.problems.append(reason)
        hints = []
        if sniffed.format == "csv":
            hints.append("--delimiter ';' (or ',' tab '|') if the fields are split wrongly")
            hints.append("options.encoding: cp1252 for Windows Excel's CSV")
        if sniffed.format in ("csv", "xlsx"):
            hints.append("--header-rows N (or 5,6 for a header over two rows) if the header "
                         "is elsewhere")
        if sniffed.format == "xlsx" and len(sniffed.sheets) > 1:
            hints.append(f"--sheet NAME for another sheet ({', '.join(sniffed.sheets)})")
        self.lines += ["", f"   cannot read it: {reason}"]
        if hints:
            self.lines.append("   what to configure: " + "; ".join(hints))
        self.lines += ["", self._verdict()]
        return 1
