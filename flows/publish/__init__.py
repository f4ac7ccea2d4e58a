"""Publish: every mart that declares catalogue metadata becomes an immutable open-data release.

dbt's `manifest.json` is the one list of what is published (`flows.common.marts`): a
model is published when its `config.meta.open_data` is set. Only columns classified
`public` leave the warehouse.

A release `site/datasets/<slug>/<version>/` holds the data as CSV (UTF-8, comma, header),
XLSX, JSON (an array of records) and Parquet, a Frictionless `datapackage.json` whose
Table Schema comes from the dbt column metadata, `release.json` (with the changelog
against the previous version) and `SHA256SUMS`. It is written into a hidden
`.staging-*` folder beside its final place and renamed into place in one step; `latest`
is a symlink switched with one atomic rename. `catalog.json` (the catalogue app's index),
`data.json` (DCAT-US 1.1 for harvesters) and the bulk zip of all latest releases are each
written aside and renamed over the old file. A reader, or a crash, never sees half a
release. A new version appears only when the content changed.

The modules, in the order a publication uses them:
- `site`: paths of `site/` and the URLs the catalogue serves them at.
- `release`: the releases on disk, versions, `latest`, the publish lock, crash leftovers
  and the switch journal.
- `column_types`, `satudata_metadata`, `formats`, `datapackage`, `changelog`: the files
  of a release.
- `coverage` (regencies expected and covered per period) and `drop_guard` (a release
  never silently drops a regency-period).
- `staging`: publishing one mart (stage, check, switch); `groups`: release groups,
  published together or not at all.
- `catalog` (`catalog.json`), `dcat` (`data.json`), `bulk` (the zip): catalogue-wide
  files.

This package re-exports the public names of those modules (and of the mart metadata
model), so `from flows.publish import X` and `publish.X` keep working.
"""

from flows.common.licences import LICENSE_URLS
from flows.common.marts import (
    BILINGUAL,
    CLASSIFICATIONS,
    META_KEY,
    REQUIRED_META,
    CoverageSpec,
    MartSpec,
    PublishError,
    published_marts,
    raw_sources,
)
from flows.publish.bulk import write_bulk_zip
from flows.publish.catalog import write_catalog
from flows.publish.coverage import (
    REGENCY_REFERENCE,
    WHOLE_DATASET,
    catalog_coverage,
    compute_coverage,
    coverage_gaps,
    coverage_text,
    current_coverage,
    expected_regencies,
    regency_names,
    resubmitted_regencies,
)
from flows.publish.datapackage import DATAPACKAGE_SPEC
from flows.publish.dcat import (
    DCAT_US_SCHEMA,
    ISO_PERIODICITY,
    PUBLISHER_PARENT,
    build_data_json,
    write_data_json,
)
from flows.publish.drop_guard import dropped_pairs
from flows.publish.formats import (
    FORMAT_DESCRIPTIONS,
    FORMAT_NAMES,
    FORMATS,
    FORMULA_PREFIXES,
    MEDIA_TYPES,
    XLSX_BATCH_ROWS,
    XLSX_DATA_ROWS,
    XLSX_MAX_EXACT_INT,
    neutralise,
)
from flows.publish.groups import publish_groups, release_groups, source_datasets
from flows.publish.release import SWITCH_JOURNAL, releases
from flows.publish.satudata_metadata import (
    OPTIONAL_SATUDATA,
    REFERENCE_CODES,
    satudata_metadata,
)
from flows.publish.site import (
    BULK_ZIP,
    CATALOG_JSON,
    COVERAGE_JSON,
    DATA_JSON,
    DEFAULT_BASE_URL,
    STATIC_PREFIX,
    base_url,
    dataset_dir,
    site_url,
    stable_url,
)
from flows.publish.staging import PublishOutcome, publish_mart

__all__ = [
    # the mart metadata model (flows.common.marts)
    "BILINGUAL", "CLASSIFICATIONS", "META_KEY", "REQUIRED_META", "CoverageSpec", "MartSpec",
    "PublishError", "published_marts", "raw_sources",
    # site
    "BULK_ZIP", "CATALOG_JSON", "COVERAGE_JSON", "DATA_JSON", "DEFAULT_BASE_URL",
    "STATIC_PREFIX", "base_url", "dataset_dir", "site_url", "stable_url",
    # release
    "SWITCH_JOURNAL", "releases",
    # the files of a release
    "FORMATS", "FORMAT_DESCRIPTIONS", "FORMAT_NAMES", "FORMULA_PREFIXES", "MEDIA_TYPES",
    "XLSX_BATCH_ROWS", "XLSX_DATA_ROWS", "XLSX_MAX_EXACT_INT", "neutralise",
    "LICENSE_URLS", "OPTIONAL_SATUDATA", "REFERENCE_CODES", "satudata_metadata",
    "DATAPACKAGE_SPEC",
    # coverage and the drop guard
    "REGENCY_REFERENCE", "WHOLE_DATASET", "catalog_coverage", "compute_coverage",
    "coverage_gaps", "coverage_text", "current_coverage", "expected_regencies",
    "regency_names", "resubmitted_regencies", "dropped_pairs",
    # publishing
    "PublishOutcome", "publish_mart", "publish_groups", "release_groups", "source_datasets",
    # catalogue-wide files
    "write_catalog", "DCAT_US_SCHEMA", "ISO_PERIODICITY", "PUBLISHER_PARENT",
    "build_data_json", "write_data_json", "write_bulk_zip",
]
