"""Sections 2-4 of the `feeds try` report with `--feed`: what the feed's entry knows of
the file's headers, its entry as written with the fixes proposed, and whether the file
loads with the amended entry."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml

from flows.onboard.mapping import _feed_knows, _known_headers, propose_mapping
from flows.onboard.registry_copy import _registry_files
from flows.onboard.request import UsageError
from flows.onboard.sniff import _Sniffed
from flows.onboard.text import _lowest_part
from flows.readers import SubmissionError, header_key
from flows.registry import Feed


class _AmendSections:
    """Sections 2-4 for an existing feed; a part of `_Trial` (flows/onboard/trial.py)."""

    def _amend(self, con: duckdb.DuckDBPyConnection, sniffed: _Sniffed, headers: list[str],
               title: list[str]) -> tuple[dict, dict[str, str]]:
        """Sections 2-4 for an existing feed: what its entry knows of the file's headers,
        and its entry with the fixes proposed."""
        ctx = self.ctx
        feed = self._given_feed()
        spec = ctx.spec
        out = self.lines
        out += ["", f"2. Mapping of feed {feed.id} (dataset {spec.name})"]
        known = _known_headers(ctx.registry, spec, exclude=feed.id)
        width = max((len(h) for h in headers), default=0)
        mapping: dict[str, str] = {}
        add_columns: dict[str, str] = {}
        add_ignored: list[str] = []
        unknown = [h for h in headers if _feed_knows(feed, h) is None]
        proposals = {m.header: m for m in propose_mapping(unknown, known)}
        taken = {_feed_knows(feed, h) for h in headers} - {None, ""}
        for h in headers:
            target = _feed_knows(feed, h)
            if target:
                mapping[target] = h
                out.append(f"   {h:{width}}  -> {target}")
            elif target == "":
                out.append(f"   {h:{width}}  ignored (ignore_columns)")
            else:
                m = proposals[h]
                if m.column and m.column not in taken:
                    add_columns[m.key] = m.column
                    taken.add(m.column)
                    key = json.dumps(m.key, ensure_ascii=False)
                    out.append(f"   {h:{width}}  UNKNOWN to feed {feed.id}: it looks like "
                               f"{m.column} ({m.why}) -> add {key}: {m.column} under "
                               "columns, or list it under ignore_columns")
                else:
                    close = (f" (closest: {m.closest[0]}, {m.closest[2]})" if m.closest
                             else "")
                    add_ignored.append(m.key)
                    out.append(f"   {h:{width}}  UNKNOWN to feed {feed.id}: map it under "
                               f"columns, or list it under ignore_columns{close}")
        file_keys = {k for h in headers for k in
                     [header_key(h), header_key(_lowest_part(h) or h)]}
        lacking = [(src, dst) for src, dst in feed.columns.items()
                   if header_key(src) not in file_keys]
        for src, dst in lacking:
            instead = next((k for k, v in add_columns.items() if v == dst), None)
            also = f"; the file's {instead!r} looks like it" if instead else ""
            out.append(f"   the feed maps {src!r} (-> {dst}), which the file lacks{also}")
        mapping.update({v: next(h for h in headers if k in (h, _lowest_part(h)))
                        for k, v in add_columns.items()})
        fixed, comments = self._section_title(sniffed, title, mapping, headers, feed=feed)
        skip, skip_comment = self._section_totals(con, headers, mapping, feed=feed)

        entry = self._raw_entry(feed.id)
        options = dict(feed.options)
        if self.read_note:
            # the entry's own header rule failed and the header found worked: keep that
            for key in ("header_row", "header_rows", "skip_lines"):
                options.pop(key, None)
            options.update(self._header_options(sniffed))
            comments["options"] = "the header is where it was found"
        if options != ctx.feed.options:
            entry["options"] = options
        if add_columns:
            entry["columns"] = {**entry.get("columns", {}), **add_columns}
            comments["columns"] = "added: " + ", ".join(map(repr, add_columns))
        if add_ignored:
            entry["ignore_columns"] = [*entry.get("ignore_columns", []), *add_ignored]
        if skip:
            entry["skip_rows_matching"] = skip
            comments["skip_rows_matching"] = skip_comment
        for key in ("constants", "extract"):
            if fixed.get(key):
                entry[key] = {**(entry.get(key) or {}), **fixed[key]}
        return entry, comments

    def _raw_entry(self, feed_id: str) -> dict:
        """The feed's entry as written in the registry (or a file it includes)."""
        for path in _registry_files(self.ctx.registry.path):
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for raw in doc.get("feeds") or []:
                if isinstance(raw, dict) and raw.get("id") == feed_id:
                    # a plain copy (YAML dates as text, anchors expanded) to amend
                    self._original = json.loads(json.dumps(raw, default=str))
                    return json.loads(json.dumps(raw, default=str))
        raise UsageError(f"feed {feed_id!r} is not written in {self.ctx.registry.path}")

    def _changed(self, entry: dict) -> bool:
        return entry != self._original

    def _try_amended(self, con: duckdb.DuckDBPyConnection, feed: Feed, tmp: Path) -> None:
        """With --feed: load the file with the amended entry too, and say how it went."""
        try:
            _, rows, _, empty = self._load(con, feed, tmp)
        except SubmissionError as e:
            self.lines.append(f"   with this entry the file still does not load: {e}")
            return
        if empty:
            self.lines.append(f"   with this entry the file loads, but required column(s) "
                              f"{', '.join(empty)} stay empty")
            return
        self.lines.append(f"   with this entry the file loads cleanly ({rows} row(s))")
