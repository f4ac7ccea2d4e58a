"""Ingest: receive a feed's files, snapshot them, and turn each into a canonical batch.

One received file = one batch, with the dataset's canonical, typed columns and lineage
columns; validation then decides whether it is accepted into `raw.<dataset>` or
quarantined. Two ways in:

- `stage_csv_files`: a CSV feed's new files in one pass straight into `raw`, *staged*
  (listed in `meta.staged_batches`) until each is accepted or rejected. The fast way.
- `load_batch`: one file into `sd_scratch.main.b_<id>`, an in-memory database attached to
  the warehouse connection; every format, and any CSV file a check flags (the thorough
  path names each problem with its row and column). Nothing reaches `raw` before the
  batch is accepted.

Modules, in the order a file meets them:
- `receive`: the file's sha256 (digest cache) and its snapshot under `raw/` (`Received`);
- `checks`: headers against the feed's mapping, values fixed for the file, every value of
  a loaded batch (types, required, formulas, personal data, foreign regions);
- `plan`: the SQL that turns the delivered text columns into the batch's typed columns;
- `load`: one file into its batch in the scratch database (`load_batch`);
- `stage`: a CSV feed's files staged straight into `raw`, and views of staged batches.

This package re-exports the names other modules use.
"""

from __future__ import annotations

from flows.ingest.checks import FORMULA_PATTERN, fixed_values, formula_sql
from flows.ingest.load import (
    SCRATCH,
    batch_table,
    drop_batch,
    load_batch,
    value_mappings,
)
from flows.ingest.plan import ANY_COLUMN, province_total_pattern, value_key
from flows.ingest.receive import (
    Received,
    load_digests,
    save_digests,
    sha256_of,
    snapshot,
    unseen_bytes,
)
from flows.ingest.stage import (
    drop_staged_view,
    drop_view,
    stage_csv_files,
    staged_batch,
    staged_together,
    unstage,
)

__all__ = [
    "ANY_COLUMN",
    "FORMULA_PATTERN",
    "SCRATCH",
    "Received",
    "batch_table",
    "drop_batch",
    "drop_staged_view",
    "drop_view",
    "fixed_values",
    "formula_sql",
    "load_batch",
    "load_digests",
    "province_total_pattern",
    "save_digests",
    "sha256_of",
    "snapshot",
    "stage_csv_files",
    "staged_batch",
    "staged_together",
    "unseen_bytes",
    "unstage",
    "value_key",
    "value_mappings",
]
