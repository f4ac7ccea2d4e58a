"""Sections 3 and 4 of the `feeds try` report, for a new entry and for an existing feed:
where a required column the file lacks can come from (title lines, file name), and the
rows that are totals, not data."""

from __future__ import annotations

import json
import re

import duckdb

from flows.common.sql import quote_ident
from flows.ingest import ANY_COLUMN, province_total_pattern
from flows.onboard.entry_yaml import _yaml_flow, _yaml_scalar
from flows.onboard.periods import propose_fixed
from flows.onboard.sniff import _Sniffed
from flows.registry import PROVINCE, Feed

TOTAL_PATTERN = "^(JUMLAH|TOTAL)"


class _TitleAndTotals:
    """Sections 3 and 4; a part of `_Trial` (flows/onboard/trial.py)."""

    def _section_title(self, sniffed: _Sniffed, title: list[str], mapping: dict[str, str],
                       headers: list[str], feed: Feed | None = None
                       ) -> tuple[dict[str, dict], dict[str, str]]:
        """Section 3: the title lines and, for each required column the file lacks, where
        its value can come from. Returns {"extract": ..., "constants": ...} and comments."""
        ctx = self.ctx
        spec, name = ctx.spec, ctx.request.file.name
        out = self.lines
        out += ["", "3. Title and file name"]
        if title:
            out += [f"   title line {i}: {t}" for i, t in enumerate(title, start=1)]
        else:
            out.append("   no title lines above the header")
        out.append(f"   file name:    {name}")
        fixed: dict[str, dict] = {"extract": {}, "constants": {}}
        comments: dict[str, str] = {}
        given = set(feed.constants) | set(feed.extract) if feed else set()
        missing = [c for c in spec.columns if c.required and c.name not in mapping
                   and c.name not in given
                   and not (c.name == spec.regency_column and ctx.regency != PROVINCE)]
        for c in missing:
            found = propose_fixed(c.name, c.type, title, name)
            if found is None:
                out.append(f"   {c.name} (required) is not a column of the file, nor found in "
                           f"the title or file name: map a header to it, or set "
                           f"constants: {{{c.name}: ...}}")
                self.problems.append(f"required column {c.name} has no source")
                self.unsourced.add(c.name)
                continue
            kind, value, text, note = found
            fixed[kind][c.name] = value
            if kind == "extract":
                out.append(f"   {c.name} (required) is not a column: the {value['from']} says "
                           f"{text!r} -> extract: {{{c.name}: {_yaml_flow(value)}}}")
                comments["extract"] = f"{c.name} from {text!r} in the {value['from']}"
            else:
                out.append(f"   {c.name} (required) is not a column: the title or file name says "
                           f"{text!r} -> constants: {{{c.name}: {_yaml_scalar(value)}}}; {note}")
                comments["constants"] = "change it with each file"
        if not missing:
            out.append("   every required column is in the file or set by the entry")
        return fixed, {k: v for k, v in comments.items() if v}

    def _section_totals(self, con: duckdb.DuckDBPyConnection, headers: list[str],
                        mapping: dict[str, str], feed: Feed | None = None
                        ) -> tuple[dict[str, str], str]:
        """Section 4: rows that are totals, not data. Returns the skip rule to propose
        (empty when none is needed) and its comment."""
        ctx = self.ctx
        out = self.lines
        out += ["", "4. Total rows"]
        found: list[tuple[int, str, str]] = []
        for h in headers:
            src = quote_ident(h)
            found += con.execute(
                f"select _row_number, ?, trim({src}) from sd_try_source "
                f"where regexp_matches(trim({src}), '(?i)^(jumlah|total)\\b') "
                "order by _row_number limit 20", [h]).fetchall()
        # a label ("JUMLAH", "JUMLAH PROVINSI BANTEN", or any text in the region column),
        # not a value that starts with the word ("Jumlah Penduduk Miskin (ribu jiwa)")
        regions = {mapping[c.name] for c in self.ctx.spec.columns
                   if c.name in mapping and (c.type == "region_code" or c.name.startswith("nama"))}
        labels = sorted({r for r in found if len(r[2].split()) <= 3 or r[1] in regions})
        skip: dict[str, str] = {}
        comment = ""
        if labels:
            rows = sorted({r[0] for r in labels})
            shown = ", ".join(f"data row {r} {v!r} in {h!r}" for r, h, v in labels[:5])
            out.append(f"   {len(rows)} total row(s): {shown}")
            if feed is not None and feed.skip_rows_matching:
                out.append(f"   feed {feed.id} skips rows by {_yaml_flow(feed.skip_rows_matching)}")
            else:
                upper = all(re.match(TOTAL_PATTERN, v) for _, _, v in labels)
                pattern = TOTAL_PATTERN if upper else "(?i)" + TOTAL_PATTERN
                long_values = [r for r in found if r not in labels]
                # values that start with the word but are data keep the rule to labels
                skip = {ANY_COLUMN: pattern + (r"(\s+\S+)?$" if long_values else "")}
                out.append(f"   -> skip_rows_matching: {json.dumps(skip)}")
                comment = "total rows are not data"
        else:
            out.append("   none found (no cell says JUMLAH or TOTAL)")
        if ctx.regency == PROVINCE:
            spec = ctx.spec
            region = next((mapping[c.name] for c in spec.columns
                           if c.type == "region_code" and c.name in mapping), None)
            own = []
            if region:
                own = con.execute(
                    f"select _row_number, trim({quote_ident(region)}) from sd_try_source where "
                    f"regexp_matches(lower(trim({quote_ident(region)})), ?) order by 1 limit 5",
                    [province_total_pattern(PROVINCE)]).fetchall()
            seen = (" (" + ", ".join(f"data row {r} {v!r}" for r, v in own) + ")") if own else ""
            out.append(f"   a province-wide feed skips the province's own total row "
                       f"automatically (a region of '36' or 'Banten'){seen}")
        return skip, comment
