"""Onboarding a regency's file: `satudata feeds try FILE --dataset D [--regency R | --feed ID]`.

A data steward receives a file from a regency and wants to know how to register it. This
module reads the file with the registry's own rules without touching the real warehouse:
a throwaway DuckDB in a temporary folder, initialised like the real one (the registry's
datasets, `data/reference`, the SQL macros ingest needs), removed afterwards. It prints,
in order:

1. what the file is: its format (from the extension); for CSV the delimiter, encoding
   and number marks found in its first 64 KB; for XLSX the sheet; the header row(s) and
   the title lines above them;
2. a proposed mapping of its headers to the dataset's canonical columns, fuzzy-matched
   against the canonical names and against the headers the dataset's other feeds already
   map (with `--feed`, that feed's own entry, and what it does not know);
3. the title lines and, for a required column the file lacks, where its value can come
   from (`extract` from the title or the file name, or `constants`);
4. total rows (`skip_rows_matching`);
5. a preview of the typed rows and every problem, from the real ingest code
   (`snapshot` + `load_batch`) with the proposed entry as `load_registry` reads it back,
   so what is shown is what a run would load;
6. a ready-to-paste YAML feed entry, checked by loading the registry with it.

`try_file` returns the exit code: 0 when the file loads cleanly with the proposed (or
given) entry, 1 when it does not, 2 for a usage error (unknown dataset, feed or regency,
no such file).

The package, by job:

- `request`: what the command was asked (`TryRequest`), `UsageError`;
- `trial`: `try_file`, and `_Trial`, which checks the request and runs the sections in
  a throwaway warehouse; its sections are written by `report_file` (1), `report_proposal`
  (2-4, a new entry), `report_amend` (2-4, `--feed`), `report_title_totals` (3-4),
  `report_preview` (5) and `report_entry` (6);
- `sniff`: reading a sample of the file (grid, delimiter, encoding, header, number marks);
- `mapping`: guessing the headers' canonical columns;
- `periods`: guessing periods and years from the title or file name, and date formats;
- `entry_yaml`: the proposed entry as YAML;
- `registry_copy`: the registry's files, copied with the proposed entry pasted in;
- `text`: headers and region names as compared, regency slugs.
"""

from __future__ import annotations

from flows.onboard.entry_yaml import BLOCK_KEYS, entry_yaml
from flows.onboard.mapping import (
    HINT_THRESHOLD,
    MATCH_THRESHOLD,
    NAME_OF_REGION,
    propose_mapping,
)
from flows.onboard.periods import (
    MONTH_FORM,
    MONTHS,
    PERIOD_FORMS,
    TIME_FORMATS,
    YEAR_FORM,
    propose_fixed,
)
from flows.onboard.report_preview import PREVIEW_WIDTH
from flows.onboard.report_title_totals import TOTAL_PATTERN
from flows.onboard.request import TryRequest, UsageError, parse_header_rows
from flows.onboard.sniff import SNIFF_BYTES, SNIFF_ROWS, detect_header, number_marks
from flows.onboard.text import ABBREVIATIONS, NUMBER_TEXT, load_regencies, regency_slug
from flows.onboard.trial import FORMATS, try_file

__all__ = [
    # `satudata feeds try` (flows/cli.py)
    "TryRequest", "UsageError", "parse_header_rows", "try_file",
    # the guesses, each usable alone
    "detect_header", "number_marks", "propose_fixed", "propose_mapping", "entry_yaml",
    "load_regencies", "regency_slug",
    "ABBREVIATIONS", "BLOCK_KEYS", "FORMATS", "HINT_THRESHOLD", "MATCH_THRESHOLD", "MONTHS",
    "MONTH_FORM", "NAME_OF_REGION", "NUMBER_TEXT", "PERIOD_FORMS", "PREVIEW_WIDTH",
    "SNIFF_BYTES", "SNIFF_ROWS", "TIME_FORMATS", "TOTAL_PATTERN", "YEAR_FORM",
]
