"""Sections 2-4 of the `feeds try` report for a new entry: the proposed mapping, with
what the values say (region columns and their style, date formats, categorical
spellings other feeds map), and the entry assembled from it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb

from flows.common.sql import quote_ident
from flows.onboard.entry_yaml import _yaml_scalar
from flows.onboard.mapping import (
    MATCH_THRESHOLD,
    _code_style,
    _known_headers,
    _Match,
    propose_mapping,
)
from flows.onboard.periods import TIME_FORMATS, _parses
from flows.onboard.sniff import _Sniffed
from flows.readers import header_key
from flows.registry import PROVINCE


class _ProposalSections:
    """Sections 2-4 for a new entry; a part of `_Trial` (flows/onboard/trial.py)."""

    def _propose(self, con: duckdb.DuckDBPyConnection, sniffed: _Sniffed, headers: list[str],
                 title: list[str]) -> tuple[dict, dict[str, str]]:
        """Sections 2-4 for a new entry; returns the entry and comments for its YAML."""
        ctx = self.ctx
        spec = ctx.spec
        out = self.lines
        known = _known_headers(ctx.registry, spec, exclude=None)
        matches = propose_mapping(headers, known)
        self._region_fixups(con, matches)
        out += ["", f"2. Proposed mapping to dataset {spec.name} "
                    f"(canonical columns: {', '.join(spec.column_names)})"]
        width = max((len(h) for h in headers), default=0)
        cwidth = max((len(c) for c in spec.column_names), default=0)
        for m in matches:
            if m.column:
                key = f"   (key {m.key!r})" if m.key != m.header else ""
                out.append(f"   {m.header:{width}}  -> {m.column:{cwidth}}  {m.why}{key}")
            else:
                close = (f" (closest: {m.closest[0]}, {m.closest[2]})" if m.closest else "")
                out.append(f"   {m.header:{width}}  unmapped: map it or add it to "
                           f"ignore_columns{close}")
        columns = {m.key: m.column for m in matches if m.column}
        mapping = {m.column: m.header for m in matches if m.column}
        ignored = [m.key for m in matches if not m.column]
        if ignored:
            out.append(f"   the entry below ignores {', '.join(map(repr, ignored))} "
                       "(ignore_columns); map any that holds a canonical column")
        region_style, region_note = self._region_style(con, mapping)
        if region_note:
            out.append(f"   {region_note}")
        time_options = self._time_formats(con, mapping)
        values = self._known_values(con, mapping)
        for column, spellings in values.items():
            out.append(f"   values of {column}: {len(spellings)} spelling(s) in the file are "
                       "mapped by other feeds to canonical values -> values: {"
                       f"{column}: ...}}")
        fixed, comments_fixed = self._section_title(sniffed, title, mapping, headers)
        skip, skip_comment = self._section_totals(con, headers, mapping)

        entry: dict[str, Any] = {
            "id": self._entry_id(), "regency": ctx.regency, "dataset": spec.name,
            "channel": "landing",
            "path": f"landing/{ctx.regency}/{spec.name}/*{ctx.request.file.suffix.lower()}",
            "format": ctx.format,
        }
        comments: dict[str, str] = {}
        options = {**sniffed.options, **self._header_options(sniffed), **self._overrides(),
                   **time_options}
        if options.get("header_row") and self._auto_header(sniffed, columns):
            del options["header_row"]   # the reader finds it below the title by its headers
        if options:
            entry["options"] = options
        if options.get("header_rows"):
            comments["options"] = "the header is written over rows " + \
                "-".join(map(str, (options["header_rows"][0], options["header_rows"][-1])))
        if region_style:
            entry["region_code"] = region_style
        entry["columns"] = columns
        if ignored:
            entry["ignore_columns"] = ignored
        if skip:
            entry["skip_rows_matching"] = skip
            comments["skip_rows_matching"] = skip_comment
        if values:
            entry["values"] = values
        for key in ("constants", "extract"):
            if fixed.get(key):
                entry[key] = fixed[key]
        comments.update(comments_fixed)
        return entry, comments

    def _region_fixups(self, con: duckdb.DuckDBPyConnection, matches: list[_Match]) -> None:
        """What the values say about the region columns, which headers alone do not:
        a header of names proposed for a region column gives way to one of codes that was
        a candidate too ("Wilayah" and "Kode"), and keeps the name column; and a required
        region column nothing holds is taken from the header of names proposed for the
        name column (region_code: name)."""
        spec, ctx = self.ctx.spec, self.ctx
        for c in spec.columns:
            if c.type != "region_code":
                continue
            name = "nama_" + c.name.removeprefix("kode_")
            name = name if name in spec.column_names else None
            holder = next((m for m in matches if m.column == c.name), None)
            if holder is not None and self._style_of(con, holder.header) == "name":
                coder = next((m for m in matches if m.column is None
                              and any(col == c.name and score >= MATCH_THRESHOLD
                                      for score, _, col, _ in m.candidates)
                              and self._style_of(con, m.header) in ("dotted", "bps_digits")),
                             None)
                if coder is not None:
                    why = next(w for score, _, col, w in coder.candidates if col == c.name)
                    coder.column, coder.why = c.name, why + "; its values are codes"
                    coder.closest = None
                    free = name and all(m.column != name for m in matches)
                    holder.column = name if free else None
                    holder.why = f"it names the regions whose codes are in {coder.header!r}"
                    if holder.column is None:
                        holder.closest = None
                continue
            needed = c.required and (c.name != spec.regency_column or ctx.regency == PROVINCE)
            if holder is None and needed and name:
                m = next((m for m in matches if m.column == name), None)
                if m is not None:
                    m.column, m.why = c.name, m.why + f"; it names the regions, so {c.name}"

    def _style_of(self, con: duckdb.DuckDBPyConnection, header: str) -> str | None:
        """How the values of a column write regions: dotted, bps_digits or name (the most
        common among its first 50 distinct values, total rows aside), None if neither."""
        src = quote_ident(header)
        styles = Counter(_code_style(r[0]) for r in con.execute(
            f"select distinct trim({src}) from sd_try_source where trim({src}) <> '' "
            f"and not regexp_matches(trim({src}), '(?i)^(jumlah|total)') limit 50").fetchall())
        styles.pop(None, None)
        return styles.most_common(1)[0][0] if styles else None

    def _auto_header(self, sniffed: _Sniffed, columns: dict[str, str]) -> bool:
        """Whether the XLSX reader, without header_row, finds the header where it was
        found: the first row holding at least two of the mapped headers."""
        keys = {header_key(k) for k in columns}
        for number, row in enumerate(sniffed.grid.texts, start=1):
            if len(keys & {header_key(c) for c in row}) >= 2:
                return [number] == sniffed.header_rows
        return False

    def _region_style(self, con: duckdb.DuckDBPyConnection, mapping: dict[str, str]
                      ) -> tuple[str | None, str]:
        """The region_code style the values of the file's region column are written in."""
        spec = self.ctx.spec
        column = next((c.name for c in spec.columns if c.type == "region_code"
                       and c.name in mapping), None)
        if column is None:
            if any(c.type == "region_code" and c.required and c.name != spec.regency_column
                   for c in spec.columns) or self.ctx.regency == PROVINCE:
                return None, "no column holds the region code"
            return None, ""
        style = self._style_of(con, mapping[column])
        if style is None:
            return None, f"the values of {mapping[column]!r} do not look like region codes"
        src = quote_ident(mapping[column])
        example = next((r[0] for r in con.execute(
            f"select trim({src}) from sd_try_source where trim({src}) <> '' "
            "order by _row_number").fetchall() if _code_style(r[0]) == style), "")
        look = {"dotted": "Kemendagri codes with dots", "bps_digits": "BPS codes (digits)",
                "name": "names"}[style]
        return style, (f"region codes in {mapping[column]!r} are {look} ({example!r}) -> "
                       f"region_code: {style}")

    def _time_formats(self, con: duckdb.DuckDBPyConnection, mapping: dict[str, str]
                      ) -> dict[str, str]:
        """options.timestamp_format / date_format for dates and times the warehouse cannot
        read as they are (not ISO 8601): the first of TIME_FORMATS that reads a sample of
        every such column of that type."""
        options: dict[str, str] = {}
        for ctype, formats in TIME_FORMATS.items():
            sample: list[str] = []
            for c in self.ctx.spec.columns:
                if c.type == ctype and c.name in mapping:
                    src = quote_ident(mapping[c.name])
                    sample += [r[0] for r in con.execute(
                        f"select trim({src}) from sd_try_source where trim({src}) <> '' "
                        f"and try_cast(trim({src}) as {ctype}) is null limit 50").fetchall()]
            if not sample:
                continue
            fmt = next((f for f in formats if all(_parses(v, f) for v in sample)), None)
            if fmt is None:
                self.lines.append(f"   {ctype}s like {sample[0]!r} match no usual format: set "
                                  f"options.{ctype}_format (strptime, e.g. \"%d-%m-%Y\")")
                continue
            options[f"{ctype}_format"] = fmt
            self.lines.append(f"   {ctype}s are written like {sample[0]!r} -> "
                              f"{ctype}_format: {_yaml_scalar(fmt)}")
        return options

    def _known_values(self, con: duckdb.DuckDBPyConnection, mapping: dict[str, str]
                      ) -> dict[str, dict[str, str]]:
        """Spellings of categorical values in the file that other feeds of the dataset
        already map (`values:`), to map them the same way."""
        spec = self.ctx.spec
        out: dict[str, dict[str, str]] = {}
        for c in spec.columns:
            if c.type != "text" or c.name not in mapping:
                continue
            known = {header_key(k): v for f in self.ctx.registry.select(dataset=spec.name)
                     for k, v in f.values.get(c.name, {}).items()}
            if not known:
                continue
            src = quote_ident(mapping[c.name])
            for (value,) in con.execute(
                    f"select distinct trim({src}) from sd_try_source where trim({src}) <> '' "
                    "order by 1 limit 500").fetchall():
                target = known.get(header_key(value))
                if target is not None and target != value:
                    out.setdefault(c.name, {})[value] = target
        return out
