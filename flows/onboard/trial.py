"""One run of `satudata feeds try` (`try_file`): the request checked (`_Trial.prepare`),
then the report's sections in order in a throwaway warehouse (`_Trial.run`). The
sections are written by the mixins `_Trial` is made of (flows/onboard/report_*.py)."""

from __future__ import annotations

import difflib
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flows.onboard.report_amend import _AmendSections
from flows.onboard.report_entry import _EntrySection
from flows.onboard.report_file import _FileSection, _Stop
from flows.onboard.report_preview import _PreviewSection
from flows.onboard.report_proposal import _ProposalSections
from flows.onboard.report_title_totals import _TitleAndTotals
from flows.onboard.request import TryRequest, UsageError
from flows.onboard.sniff import _sniff_xlsx
from flows.onboard.text import _name_key, load_regencies
from flows.readers import MAX_HEADER_SCAN_ROWS, SubmissionError, read_file
from flows.registry import PROVINCE, DatasetSpec, Feed, Registry, RegistryError, load_registry
from flows.settings import Settings
from flows.warehouse import connect, initialise

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".json": "ckan_json"}


@dataclass
class _Context:
    request: TryRequest
    registry: Registry
    spec: DatasetSpec
    feed: Feed | None            # --feed: the registry's entry
    regency: str
    regency_name: str
    regency_note: str
    format: str
    settings: Settings


class _Trial(_FileSection, _ProposalSections, _TitleAndTotals, _AmendSections,
             _PreviewSection, _EntrySection):
    """One run of `feeds try`: `prepare` checks the request (UsageError), `run` does the
    work in a temporary folder and fills `lines`; it returns the exit code."""

    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.lines: list[str] = []
        self.problems: list[str] = []
        self.read_note = ""
        self.unsourced: set[str] = set()   # required columns section 3 found no source for
        self._original: dict | None = None   # --feed: its entry as written

    # -------------------------------------------------------------- request

    @classmethod
    def prepare(cls, request: TryRequest) -> _Trial:
        settings = Settings.from_env()
        path = request.registry or settings.feeds_file
        try:
            registry = load_registry(Path(path))
        except RegistryError as e:
            raise UsageError(f"the feed registry {path} cannot be used:\n  {e}") from None
        if request.dataset not in registry.datasets:
            raise UsageError(f"unknown dataset {request.dataset!r} (known: "
                             f"{', '.join(sorted(registry.datasets))})")
        if not request.file.is_file():
            raise UsageError(f"no such file: {request.file}")
        if request.rows < 0:
            raise UsageError("--rows must be 0 or more")
        if request.delimiter is not None and (len(request.delimiter) != 1
                                              or request.delimiter in "\r\n\"'"):
            raise UsageError(f"--delimiter {request.delimiter!r}: write one character, "
                             "e.g. ';' or tab")
        regencies = load_regencies(settings.reference_dir)
        feed = None
        note = ""
        if request.feed_id:
            feed = next((f for f in registry.feeds if f.id == request.feed_id), None)
            if feed is None:
                ids = [f.id for f in registry.select(dataset=request.dataset)]
                close = difflib.get_close_matches(request.feed_id, ids, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"feeds of {request.dataset}: " \
                    + ", ".join(ids)
                raise UsageError(f"unknown feed {request.feed_id!r} in {registry.path}; {hint}")
            if feed.dataset != request.dataset:
                raise UsageError(f"feed {feed.id!r} is a feed of dataset {feed.dataset!r}, "
                                 f"not {request.dataset!r}")
            regency = feed.regency
        elif request.regency:
            regency = request.regency.strip()
            if re.fullmatch(r"\d{4}", regency):   # a BPS code: 3604 -> 36.04
                regency = f"{regency[:2]}.{regency[2:]}"
            if regency not in regencies:
                raise UsageError(f"unknown regency {request.regency!r}: use a Kemendagri code "
                                 f"of Banten ({', '.join(sorted(regencies))}; 36 for a "
                                 "province-wide file)")
        else:
            regency, note = cls._guess_regency(request.file, regencies)
        suffix = request.file.suffix.lower()
        fmt = feed.format if feed else FORMATS.get(suffix)
        if fmt is None:
            hint = " (save it as .xlsx)" if suffix in (".xls", ".xlsm", ".ods") else ""
            raise UsageError(f"cannot tell the format of {request.file.name} from its "
                             f"extension {suffix or '(none)'}{hint}; known: "
                             f"{', '.join(sorted(FORMATS))}")
        return cls(_Context(request, registry, registry.datasets[request.dataset], feed,
                            regency, regencies[regency], note, fmt, settings))

    @staticmethod
    def _guess_regency(path: Path, regencies: dict[str, str]) -> tuple[str, str]:
        """The regency named by the file's name or its first rows' text, when exactly one
        is; else a UsageError asking for --regency."""
        text = path.stem
        if path.suffix.lower() in (".csv", ".txt", ".tsv"):
            with open(path, "rb") as f:
                text += "\n" + f.read(4096).decode("utf-8", errors="replace")
        elif path.suffix.lower() == ".xlsx":
            try:
                grid = _sniff_xlsx(path, path.name, None).grid
                text += "\n" + "\n".join(" ".join(r) for r in grid.texts[:MAX_HEADER_SCAN_ROWS])
            except (SubmissionError, UsageError):
                pass
        haystack = f" {_name_key(text)} "
        found = []
        for code, name in sorted(regencies.items(), key=lambda kv: -len(kv[1])):
            key = _name_key(name)
            if code != PROVINCE and re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])",
                                              haystack):
                found.append(code)
                haystack = haystack.replace(key, " ")   # "kota tangerang" inside "... selatan"
        if len(found) != 1:
            named = f" (it names {', '.join(regencies[c] for c in found)})" if found else ""
            raise UsageError(f"which regency sent {path.name}?{named} Say --regency 36.xx "
                             "(36 for a province-wide file), or --feed ID to try a feed's "
                             "entry")
        return found[0], (f"{found[0]} {regencies[found[0]]}, named in the file "
                          "(--regency to choose another)")

    # -------------------------------------------------------------- the run

    def run(self, tmp: Path) -> int:
        ctx, req = self.ctx, self.ctx.request
        name = req.file.name
        database = tmp / "warehouse.duckdb"
        initialise(database, ctx.registry.datasets, ctx.settings.reference_dir)
        with connect(database) as con:
            try:
                sniffed = self._sniff(name)
            except _Stop:
                return 1
            probe = self._probe_feed(sniffed)
            info = None
            try:
                info = read_file(con, probe, req.file, "sd_try_source", name)
            except SubmissionError as e:
                if ctx.feed is not None and sniffed.header_rows:
                    # the feed's own rules cannot even find the header: read it as found,
                    # to show what changed (the preview names the feed's own failure)
                    probe = self._probe_feed(sniffed, own=False)
                    try:
                        info = read_file(con, probe, req.file, "sd_try_source", name)
                        self.read_note = (f"feed {ctx.feed.id} cannot read it as it is "
                                          f"({e}); read here with the header found")
                    except SubmissionError:
                        info = None
                if info is None:
                    self._section_found(sniffed, None)
                    return self._cannot_read(str(e), sniffed)
            self._section_found(sniffed, info)
            headers = list(info.headers)
            if ctx.feed is None:
                entry, comments = self._propose(con, sniffed, headers, info.title)
                feed, error = self._validated(entry, tmp)
                if feed is None:
                    feed = self._feed_of(entry, tmp)
                self._section_preview(con, feed, tmp)
                self._section_entry(entry, comments, error, feed_given=False)
            else:
                entry, comments = self._amend(con, sniffed, headers, info.title)
                self._section_preview(con, self._given_feed(), tmp)
                feed, error = self._validated(entry, tmp)
                self._section_entry(entry, comments, error, feed_given=True)
                if feed is not None and self._changed(entry):
                    self._try_amended(con, feed, tmp)
        self.lines += ["", self._verdict()]
        return 1 if self.problems else 0

    def _given_feed(self) -> Feed:
        """The --feed entry with the command line's reader options."""
        feed = self.ctx.feed
        assert feed is not None
        options = dict(feed.options)
        if self.ctx.request.header_rows is not None:
            # --header-rows replaces however the entry placed its header
            for key in ("header_row", "header_rows", "skip_lines"):
                options.pop(key, None)
            options["header_rows"] = self.ctx.request.header_rows
        return replace(feed, options={**options, **self._overrides()})

    def _overrides(self) -> dict[str, Any]:
        """The reader options given on the command line (--header-rows aside: it becomes
        header_rows, header_row or skip_lines, see `_header_options`)."""
        req = self.ctx.request
        out: dict[str, Any] = {}
        if req.sheet is not None:
            out["sheet"] = req.sheet
        if req.delimiter is not None:
            out["delimiter"] = req.delimiter
        return out

    def _verdict(self) -> str:
        if not self.problems:
            return "Result: the file loads cleanly with this entry (exit 0)"
        return f"Result: {len(self.problems)} problem(s); the file does not load as is (exit 1)"


def try_file(request: TryRequest, out: Callable[[str], None] = print) -> int:
    """Run `satudata feeds try` and print its report with `out`; returns the exit code
    (0 loads cleanly, 1 does not, 2 usage error, reported on stderr)."""
    try:
        trial = _Trial.prepare(request)
        with tempfile.TemporaryDirectory(prefix="satudata-try-") as tmp:
            code = trial.run(Path(tmp))
    except UsageError as e:
        print(f"satudata feeds try: {e}", file=sys.stderr)
        return 2
    for line in trial.lines:
        out(line)
    return code
