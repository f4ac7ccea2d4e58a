"""The feed registry: which regency sends which dataset, where, and in what shape.

The registry is data (YAML). Its shape is checked by pydantic models (every level forbids
unknown keys, so a misspelt `personal_dta:` is an error, not a silently unprotected
column); then the checks that need the whole registry run (a feed's dataset is declared,
its columns are canonical, its URL's host is allowed, ids are unique...). All problems of
the file and the files it includes are reported together, one per line, each naming the
file, the entry and the field.

The rest of the code receives frozen dataclasses (`Registry`, `DatasetSpec`,
`ColumnSpec`, `Feed`), built from the validated models.

The package, in the order its modules build on each other:

- `feeds`: the frozen `Registry`, `Feed`, `Extract`, `LandingFiles` and `RegistryError`
  (`DatasetSpec` and `ColumnSpec` are in flows/common/datasets.py, below the warehouse,
  and re-exported here);
- `confinement`: a landing feed's path stays in the landing root; a network feed's host
  is allowed (`parse_host_entry`, `host_allowed`, `confinement_problem`);
- `models`: the pydantic models of a registry file;
- `schema`: the JSON Schema of the models (`data/feeds.schema.json`, regenerated with
  `python -m flows.registry --write-schema data/feeds.schema.json`);
- `messages`: validation errors as one-line problems, with did-you-mean;
- `checks`: the checks that need a feed's dataset, hosts and landing root;
- `load`: `load_registry`, which reads, validates, checks and builds the `Registry`.
"""

from __future__ import annotations

from flows.common.datasets import ColumnSpec, DatasetSpec
from flows.registry.confinement import (
    confinement_problem,
    host_allowed,
    normal_host,
    parse_host_entry,
    url_port,
)
from flows.registry.feeds import (
    NETWORK_DEFAULTS,
    PROVINCE,
    Extract,
    Feed,
    LandingFiles,
    Registry,
    RegistryError,
)
from flows.registry.load import load_registry
from flows.registry.messages import HINTS, PATTERN_HINTS
from flows.registry.models import (
    CHANNELS,
    COLUMN_TYPES,
    EXTRACT_SOURCES,
    FORMATS,
    REGENCY_PATTERN,
    REGION_CODE_STYLES,
    SCHEMA_TITLE,
    AlertsModel,
    ChannelName,
    CkanModel,
    ColumnModel,
    ColumnType,
    DatasetModel,
    ExtractModel,
    ExtractSource,
    FeedModel,
    FormatName,
    NumberAtLeast0,
    OptionsModel,
    Regex,
    RegionCodeStyle,
    RegistryFile,
    Text,
    WholeAtLeast0,
    WholeAtLeast1,
)
from flows.registry.schema import (
    JSON_SCHEMA_DIALECT,
    main,
    registry_json_schema,
    write_json_schema,
)

__all__ = [
    # the registry as the rest of the code sees it
    "ColumnSpec", "DatasetSpec", "Extract", "Feed", "LandingFiles", "Registry",
    "RegistryError", "load_registry", "NETWORK_DEFAULTS", "PROVINCE",
    # where feeds may read from
    "confinement_problem", "host_allowed", "normal_host", "parse_host_entry", "url_port",
    # the file's shape and its JSON Schema
    "AlertsModel", "CkanModel", "ColumnModel", "DatasetModel", "ExtractModel", "FeedModel",
    "OptionsModel", "RegistryFile", "ChannelName", "ColumnType", "ExtractSource",
    "FormatName", "RegionCodeStyle", "NumberAtLeast0", "Regex", "Text", "WholeAtLeast0",
    "WholeAtLeast1", "CHANNELS", "COLUMN_TYPES", "EXTRACT_SOURCES", "FORMATS",
    "REGENCY_PATTERN", "REGION_CODE_STYLES", "SCHEMA_TITLE", "JSON_SCHEMA_DIALECT",
    "HINTS", "PATTERN_HINTS", "registry_json_schema", "write_json_schema", "main",
]
