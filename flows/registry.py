"""The feed registry: which regency sends which dataset, where, and in what shape.

The registry is data (YAML). Its shape is checked by the pydantic models below (every
level forbids unknown keys, so a misspelt `personal_dta:` is an error, not a silently
unprotected column); then the checks that need the whole registry run (a feed's dataset
is declared, its columns are canonical, its URL's host is allowed, ids are unique...).
All problems of the file and the files it includes are reported together, one per line,
each naming the file, the entry (`feed 'kab-lebak.penduduk'`, `dataset 'aduan'`,
`column 'nik' of dataset 'aduan'`) and the field.

Confinement: a landing feed's `path` must stay inside the landing root, the folder of
the main registry file (`..` or an absolute path leading out, or a folder that is a
symlink out of it, is a registry error); `Feed.files()` skips a file that resolves
outside the root (a symlink planted later) and `Feed.landing_files()` names it. A network
feed's URL must name a host (and port, when the `allowed_hosts` entry pins one as
`host:port`) of `allowed_hosts`; flows/channels.py also refuses private, loopback and
link-local addresses that are not themselves listed.

The rest of the code receives frozen dataclasses (`Registry`, `DatasetSpec`,
`ColumnSpec`, `Feed`), built from the validated models. The models also give the JSON
Schema that editors use to complete and check the YAML (`data/feeds.schema.json`,
regenerated with `python -m flows.registry --write-schema data/feeds.schema.json`).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import ipaddress
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlparse

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

FormatName = Literal["csv", "xlsx", "ckan_json"]
ChannelName = Literal["landing", "http", "ckan"]
RegionCodeStyle = Literal["dotted", "bps_digits", "name"]
ColumnType = Literal["text", "integer", "number", "region_code", "period", "timestamp", "date"]
ExtractSource = Literal["title", "file_name"]

FORMATS = set(typing.get_args(FormatName))
CHANNELS = set(typing.get_args(ChannelName))
REGION_CODE_STYLES = set(typing.get_args(RegionCodeStyle))
COLUMN_TYPES = set(typing.get_args(ColumnType))
EXTRACT_SOURCES = set(typing.get_args(ExtractSource))
NETWORK_DEFAULTS = {"timeout_s": 30.0, "retries": 3, "retry_delay_s": 2.0}
PROVINCE = "36"   # Banten
REGENCY_PATTERN = r"^36(\.\d{2})?$"
SCHEMA_TITLE = "Satu Data Banten feed registry"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class RegistryError(ValueError):
    """The feed registry cannot be used. The message has one line per problem, each naming
    the file, the entry and the field; `problems` holds the same lines as a list."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


# ------------------------------------------------------------------------ dataclasses


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    personal_data: bool = False   # NIK, names, phones, e-mail: never published
    values: tuple[str, ...] = ()  # the canonical values of a categorical text column
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's canonical shape. `key` is its natural key (unique); `replace_by` names
    the slice a submission covers within its regency (SQL expressions over the canonical
    columns, e.g. `periode`, or `strftime(diterima_pada, '%Y-%m')`): an accepted file
    replaces the rows of the slices it contains. An empty `replace_by` means each file is
    the regency's complete list."""

    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    replace_by: tuple[str, ...] = ()
    frequency: str | None = None
    regency_column: str | None = None   # filled with the feed's regency when a file lacks it

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Extract:
    """A value taken from a file's title block (`source` "title") or its file name
    ("file_name") by a regular expression: its first capture group if it has one, else
    the whole match."""

    source: str
    pattern: str


@dataclass(frozen=True)
class Feed:
    id: str
    regency: str
    dataset: str
    channel: str
    format: str
    columns: dict[str, str]
    base_dir: Path
    path: str | None = None
    url: str | None = None
    region_code: str = "dotted"
    options: dict = field(default_factory=dict)   # only the keys the registry writes
    ignore_columns: tuple[str, ...] = ()
    skip_rows_matching: dict[str, str] = field(default_factory=dict)   # "*": any column
    values: dict[str, dict[str, str]] = field(default_factory=dict)   # column -> spelling -> value
    ckan: dict = field(default_factory=dict)   # package, resource, page_size
    allowed_hosts: tuple[str, ...] = ()        # the registry's, for redirects
    constants: dict[str, str] = field(default_factory=dict)   # column -> value for the file
    extract: dict[str, Extract] = field(default_factory=dict)  # column -> where to find it
    description: str = ""
    fingerprint: str = ""   # sha256 of the entry and its dataset's spec (see load_registry)
    # The folder the feed's files must resolve into (load_registry: the main registry
    # file's folder); None for a feed made by hand, which is not confined.
    landing_root: Path | None = None

    @property
    def is_network(self) -> bool:
        return self.channel in ("http", "ckan")

    @property
    def is_province_wide(self) -> bool:
        """The feed covers the whole province (`regency: "36"`), not one regency/city."""
        return "." not in self.regency

    @property
    def province(self) -> str:
        """The province code, the first two digits of the regency code ("36")."""
        return self.regency[:2]

    def network_option(self, name: str) -> float:
        return float(self.options.get(name, NETWORK_DEFAULTS[name]))

    def files(self) -> list[Path]:
        """The files currently in this feed's landing location, in name order; a file
        that resolves outside the landing root (a symlink) is left out
        (`landing_files` names those)."""
        return self.landing_files().files

    def landing_files(self) -> LandingFiles:
        """The files matching the feed's `path`, in name order, split into those inside
        the landing root and those that resolve outside it (symlinks pointing out,
        planted after the registry was checked), which are never read."""
        pattern = Path(self.path or "")
        root = pattern if pattern.is_absolute() else self.base_dir / pattern
        found = sorted(p for p in root.parent.glob(root.name) if p.is_file())
        if self.landing_root is None:
            return LandingFiles(found, [])
        inside, outside = [], []
        landing = self.landing_root.resolve()
        for p in found:
            (inside if p.resolve().is_relative_to(landing) else outside).append(p)
        return LandingFiles(inside, outside)


@dataclass(frozen=True)
class LandingFiles:
    """`Feed.landing_files()`: the files to read, and those skipped because they resolve
    outside the landing root."""

    files: list[Path]
    outside: list[Path]


@dataclass(frozen=True)
class Registry:
    datasets: dict[str, DatasetSpec]
    feeds: list[Feed]
    path: Path
    allowed_hosts: tuple[str, ...] = ()
    landing_root: Path | None = None   # the main registry file's folder

    def select(self, regency: str | None = None, dataset: str | None = None) -> list[Feed]:
        return [
            f for f in self.feeds
            if (regency is None or f.regency == regency)
            and (dataset is None or f.dataset == dataset)
        ]


# ------------------------------------------------------------------------ pydantic models


def _as_text(value: Any) -> Any:
    # YAML reads 2024 as a number and 2024-06-30 as a date; as a header or a value they
    # are text. Booleans stay as they are and fail: `yes` was hardly meant as "True".
    if isinstance(value, int | float | date) and not isinstance(value, bool):
        return str(value)
    return value


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"bad regular expression: {e}") from None
    return pattern


def _http_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"'{url}' is not an http(s) URL")
    return url


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """An `allowed_hosts` entry as (host, port or None): `data.example.go.id`,
    `data.example.go.id:8443`, `10.1.2.3:8080`, `[fd00::5]:8080` or `fd00::5`. The host
    is lowercased, an IP address written in its canonical form. Raises ValueError."""
    text = str(entry).strip().lower()
    if not text or "/" in text or "@" in text or any(c.isspace() for c in text):
        raise ValueError(f"'{entry}' is not a host; write a host name or address, "
                         "optionally with :port (not a URL)")
    port: str | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"'{entry}': write an IPv6 address as [address] or "
                             "[address]:port")
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text   # a name, an IPv4 address or a bare IPv6 address
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if ":" in host or not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
                                           r"(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?", host):
            raise ValueError(f"'{entry}' is not a host name or IP address") from None
    if port is None:
        return host, None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"'{entry}': the port must be a number from 1 to 65535")
    return host, int(port)


def normal_host(host: str) -> str:
    """A URL's host as `parse_host_entry` writes it (lowercase, canonical IP form)."""
    host = host.lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def url_port(url: str) -> int:
    """The port a URL connects to (its own, else 443 for https and 80 for http)."""
    parsed = urlparse(url)
    return parsed.port or (443 if parsed.scheme == "https" else 80)


def host_allowed(allowed_hosts: tuple[str, ...], host: str, port: int) -> bool:
    """Whether `host:port` is allowed: an entry names the host and either no port (any
    port) or this one. Entries that do not parse allow nothing."""
    host = normal_host(host)
    for entry in allowed_hosts:
        try:
            name, pinned = parse_host_entry(entry)
        except ValueError:
            continue
        if name == host and pinned in (None, port):
            return True
    return False


def _host_entry(entry: str) -> str:
    parse_host_entry(entry)
    return entry


def confinement_problem(path: str, base_dir: Path, landing_root: Path) -> str | None:
    """Why a landing feed's `path` (a glob relative to `base_dir`) leads outside the
    landing root, or None: written with `..` or as an absolute path outside it, or
    through a folder that is a symlink out of it."""
    pattern = Path(path)
    full = pattern if pattern.is_absolute() else base_dir / pattern
    lexical = Path(os.path.normpath(full))
    root = Path(os.path.normpath(landing_root))
    if not lexical.is_relative_to(root):
        return (f"field 'path' is '{path}', which leads outside the landing root {root}; "
                "keep the feed's files in a folder under the registry's folder")
    folder = lexical.parent
    while not folder.exists() and folder != root:
        folder = folder.parent
    real_root = landing_root.resolve()
    if not folder.resolve().is_relative_to(real_root):
        return (f"field 'path' is '{path}': its folder {folder} resolves to "
                f"{folder.resolve()}, outside the landing root {real_root} (a symlink); "
                "keep the feed's files in a folder under the registry's folder")
    return None


Text = Annotated[str, BeforeValidator(_as_text)]
Regex = Annotated[str, AfterValidator(_compiles)]
WholeAtLeast0 = Annotated[int, Field(strict=True, ge=0)]
WholeAtLeast1 = Annotated[int, Field(strict=True, ge=1)]
NumberAtLeast0 = Annotated[float, Field(strict=True, ge=0)]


class _Strict(BaseModel):
    # Unknown keys are errors at every level; numbers written where text is expected
    # (a sheet named 2024) are taken as text.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        # `options:` with nothing after it is YAML null: the same as not writing the key
        # (a required key written empty is then reported missing).
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


class ColumnModel(_Strict):
    """A canonical column of a dataset."""

    type: ColumnType = Field(
        "text", description="The column's type; a value that does not parse is null.")
    required: bool = Field(
        False, description="Every row must have a value (a file without it is quarantined).")
    personal_data: bool = Field(
        False, description="NIK, names, phones, e-mail: the pipeline drops the column "
        "before anything is published.")
    values: list[Text] | None = Field(
        None, min_length=1,
        description="The canonical values of a categorical text column (feeds map their "
        "own spellings to these under `values`).")
    description: str | None = Field(None, description="What the column holds.")

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[str] | None) -> list[str] | None:
        if values is not None:
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"lists {twice} more than once")
        return values

    @model_validator(mode="after")
    def _values_of_text(self) -> ColumnModel:
        if self.values is not None and self.type != "text":
            raise ValueError(f"'values' is for a categorical text column, not type '{self.type}'")
        return self


class DatasetModel(_Strict):
    """A dataset's canonical shape, shared by every regency's feed of it."""

    description: str = Field("", description="What the dataset is (shown in the catalogue).")
    frequency: str | None = Field(
        None, description="How often a regency sends a file, as an ISO 8601 repeating "
        "interval (R/P1M monthly, R/P6M every semester, R/P1Y yearly).")
    key: list[Text] = Field(
        default_factory=list, description="The natural key: canonical columns unique together.")
    replace_by: list[str] = Field(
        default_factory=list,
        description="The slice a submission covers within its regency, as SQL expressions "
        "over the canonical columns (e.g. periode): an accepted file replaces the rows of "
        "the slices it contains. Empty: each file is the regency's complete list.")
    regency_column: str | None = Field(
        None, description="A canonical column filled with the feed's regency code when a "
        "file lacks it.")
    columns: dict[Text, ColumnModel] = Field(
        description="The canonical columns, by name, in order.")

    @model_validator(mode="before")
    @classmethod
    def _empty_columns(cls, data: Any) -> Any:
        # `nama_wilayah:` with no spec is a text column with the defaults
        if isinstance(data, dict) and isinstance(data.get("columns"), dict):
            data = {**data, "columns": {k: {} if v is None else v
                                        for k, v in data["columns"].items()}}
        return data


class OptionsModel(_Strict):
    """How to read a feed's files and how to fetch them. Every key is optional."""

    delimiter: str | None = Field(None, description="CSV field separator (default \",\").")
    quote: str | None = Field(None, description="CSV quote character (default '\"').")
    thousands: str | None = Field(
        None, description="Thousands separator in numbers, removed before parsing (e.g. \".\").")
    decimal: str | None = Field(None, description="Decimal separator in numbers (default \".\").")
    encoding: str | None = Field(
        None, description="Text encoding of CSV files (default utf-8; e.g. cp1252).")
    skip_lines: WholeAtLeast0 | None = Field(
        None, description="CSV lines to skip before the header row.")
    sheet: str | None = Field(None, description="XLSX sheet name (default: the first sheet).")
    header_row: WholeAtLeast1 | None = Field(
        None, description="XLSX row number (1 = first) of the header; default: the first "
        "row with the expected headers.")
    header_rows: list[WholeAtLeast1] | None = Field(
        None, min_length=1, description="XLSX row numbers of a header written over several "
        "rows, in increasing order (e.g. [3, 4]); instead of header_row.")
    timestamp_format: str | None = Field(
        None, description="strptime format of timestamp columns (e.g. \"%d/%m/%Y %H:%M\").")
    date_format: str | None = Field(
        None, description="strptime format of date columns (e.g. \"%d-%m-%Y\").")
    licence: str | None = Field(None, description="The data's licence, published with it.")
    timeout_s: NumberAtLeast0 | None = Field(
        None, description=f"Network feeds: seconds before a request gives up "
        f"(default {NETWORK_DEFAULTS['timeout_s']:g}).")
    retries: NumberAtLeast0 | None = Field(
        None, description=f"Network feeds: attempts after a failed one "
        f"(default {NETWORK_DEFAULTS['retries']}).")
    retry_delay_s: NumberAtLeast0 | None = Field(
        None, description=f"Network feeds: seconds between attempts "
        f"(default {NETWORK_DEFAULTS['retry_delay_s']:g}).")

    @field_validator("header_rows")
    @classmethod
    def _increasing(cls, rows: list[int] | None) -> list[int] | None:
        if rows and any(b <= a for a, b in zip(rows, rows[1:], strict=False)):
            raise ValueError("write the row numbers in increasing order, e.g. [3, 4]")
        return rows

    @model_validator(mode="after")
    def _one_header_option(self) -> OptionsModel:
        if self.header_row is not None and self.header_rows is not None:
            raise ValueError("write either 'header_row' or 'header_rows', not both")
        return self


class CkanModel(_Strict):
    """Where a CKAN feed's records are: the dataset (package) and its resource."""

    package: str | None = Field(None, description="The CKAN dataset's name or id.")
    resource: str | None = Field(
        None, description="The datastore resource's name or id within the package.")
    page_size: WholeAtLeast1 | None = Field(
        None, description="Records per datastore_search request (default 1000).")


class ExtractModel(_Strict):
    """A value of the whole file taken from its title block or its file name."""

    source: ExtractSource = Field(
        alias="from", description="Where to look: the title rows above the header "
        "(title) or the file's name (file_name).")
    pattern: Regex = Field(
        description="Regular expression; its first capture group (else the whole match) "
        "is the value.")


class FeedModel(_Strict):
    """One regency's (or the province's) feed of one dataset."""

    id: str = Field(min_length=1, description="Unique id, by convention <regency-name>.<dataset>.")
    regency: str = Field(
        min_length=1, pattern=REGENCY_PATTERN,
        description="Kemendagri code of the Banten regency/city with a dot (\"36.71\"), or "
        "\"36\" for a province-wide feed.")
    dataset: str = Field(min_length=1, description="A dataset declared under `datasets`.")
    channel: ChannelName = Field(
        description="landing: files put in a folder; http: a URL; ckan: a CKAN datastore.")
    format: FormatName = Field(description="The files' format (a ckan feed is ckan_json).")
    path: str | None = Field(
        None, description="landing feeds: glob of the files, relative to this registry file.")
    url: str | None = Field(
        None, description="http/ckan feeds: the URL (a CKAN feed: its API base, "
        ".../api/3/action); its host must be in allowed_hosts.")
    region_code: RegionCodeStyle = Field(
        "dotted", description="How the files write region codes: dotted \"36.71\" "
        "(Kemendagri), bps_digits \"3671\", or name \"KOTA TANGERANG\".")
    description: str | None = Field(None, description="Free text about the feed.")
    options: OptionsModel = Field(
        default_factory=OptionsModel, description="How to read and fetch the files.")
    columns: dict[Text, Text] = Field(
        description="The file's header (matched ignoring case and repeated spaces) -> the "
        "dataset's canonical column.")
    ignore_columns: list[Text] = Field(
        default_factory=list, description="Headers of the file that are not loaded.")
    skip_rows_matching: dict[Text, Regex] = Field(
        default_factory=dict, description="Column -> regular expression: rows whose value "
        "matches are not data (e.g. a total row). The column \"*\" means any column.")
    values: dict[Text, dict[Text, Text]] = Field(
        default_factory=dict, description="Canonical column -> the file's spelling -> the "
        "canonical value.")
    constants: dict[Text, Text] = Field(
        default_factory=dict, description="Canonical column -> a value fixed for the whole "
        "file (e.g. periode: 2024-S2).")
    extract: dict[Text, ExtractModel] = Field(
        default_factory=dict, description="Canonical column -> a value taken from the file's "
        "title block or file name.")
    ckan: CkanModel = Field(
        default_factory=CkanModel, description="ckan feeds: the package and resource.")

    @field_validator("constants", mode="before")
    @classmethod
    def _scalar_constants(cls, data: Any) -> Any:
        # a constant is one value: a list or mapping there is a mistake, said plainly
        if isinstance(data, dict):
            for k, v in data.items():
                if isinstance(v, list | dict):
                    raise ValueError(f"'{k}' is {v!r}; write a single value")
        return data


class AlertsModel(_Strict):
    """Where alerts are posted (the environment's $SATUDATA_ALERT_WEBHOOK wins)."""

    webhook: Annotated[str, AfterValidator(_http_url)] | None = Field(
        None, description="A webhook URL that receives one JSON POST per run needing attention.")
    webhooks: list[Annotated[str, AfterValidator(_http_url)]] | None = Field(
        None, description="Several webhook URLs.")


class RegistryFile(_Strict):
    """A feed registry file (data/feeds.yml, or a file it includes). Top-level keys starting
    with x- are free (YAML anchors shared by several feeds)."""

    model_config = ConfigDict(
        title=SCHEMA_TITLE, json_schema_extra={"patternProperties": {"^x-": {}}})

    include: list[str] = Field(
        default_factory=list, description="Registry files merged into this one, relative "
        "to this file.")
    allowed_hosts: list[Annotated[str, AfterValidator(_host_entry)]] = Field(
        default_factory=list, description="The only hosts network feeds may contact "
        "(redirects included).")
    alerts: AlertsModel | None = Field(None, description="Where alerts are posted.")
    datasets: dict[Text, DatasetModel] = Field(
        default_factory=dict, description="The datasets, by name.")
    feeds: list[FeedModel] = Field(
        default_factory=list, description="One entry per regency x dataset.")

    @model_validator(mode="before")
    @classmethod
    def _anchors(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items()
                    if not (isinstance(k, str) and k.startswith("x-"))}
        return data


# ------------------------------------------------------------------------ JSON Schema


def registry_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a registry file, from the models above, with a
    description on each field for editors. It checks the shape only (unknown keys, types,
    enumerations, the regency code), not what needs the whole registry."""
    schema = RegistryFile.model_json_schema(by_alias=True)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def write_json_schema(path: Path | str) -> None:
    """Write `registry_json_schema()` to `path` (2-space indent, trailing newline)."""
    text = json.dumps(registry_json_schema(), indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------ reading YAML


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader that notes a key written twice in one mapping (PyYAML keeps the
    last one silently: a second `columns:` would replace the first)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.twice: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue   # `<<: *anchor` entries may be overridden: that is their purpose
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    self.twice.append(f"line {key_node.start_mark.line + 1}: key '{key}' is "
                                      "written twice in the same mapping; keep one")
                seen.add(key)
            except TypeError:
                pass   # an unhashable key: PyYAML itself reports it below
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> tuple[dict, list[str]]:
    """The document at `path` and the keys it writes twice."""
    try:
        loader = _Loader(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"feed registry not found: {path}") from None
    try:
        doc = loader.get_single_data() or {}
    except yaml.YAMLError as e:
        raise RegistryError(f"{path}: not valid YAML: {e}") from None
    finally:
        loader.dispose()
    if not isinstance(doc, dict):
        raise RegistryError(f"{path}: expected a mapping with 'datasets' and 'feeds'")
    return doc, [f"{path}: {t}" for t in loader.twice]


# ------------------------------------------------------------------------ error messages


def _unwrap(annotation: Any) -> Any:
    """The type inside Annotated[...] and `X | None`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _type_at(loc: tuple) -> Any:
    """The type that validates the value at `loc` (a pydantic error location) of a
    registry file, or None."""
    current: Any = RegistryFile
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            found = [f for name, f in current.model_fields.items() if (f.alias or name) == part]
            if not found:
                return None
            current = found[0].annotation
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
        else:
            return None
    return _unwrap(current)


def _keys_of(model: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dotted(loc: tuple, rest: tuple) -> str:
    """`rest`, the end of `loc`, as `options.skip_lines` or `options.header_rows[0]`."""
    text, start = "", len(loc) - len(rest)
    for i, part in enumerate(rest):
        in_list = typing.get_origin(_type_at(loc[: start + i])) is list
        text += f"[{part}]" if in_list else f".{part}"
    return text.lstrip(".")


def _field(loc: tuple, rest: tuple) -> str:
    """`field 'format'` for a key of the entry, `options.skip_lines` for a nested one."""
    return f"field '{rest[0]}'" if len(rest) == 1 else _dotted(loc, rest)


def _feed_name(raw: Any, index: int) -> str:
    """A feed's id, or its place in its file ("#3") when it has none."""
    feed_id = raw.get("id") if isinstance(raw, dict) else None
    return str(feed_id) if feed_id not in (None, "") else f"#{index + 1}"


def _entry(loc: tuple, doc: dict) -> tuple[str | None, tuple]:
    """The entry an error location concerns (`feed 'x'`, `dataset 'y'`, `column 'z' of
    dataset 'y'`, None for the top level) and the field path within it."""
    if len(loc) >= 2 and loc[0] == "feeds" and isinstance(loc[1], int):
        return f"feed '{_feed_name(doc['feeds'][loc[1]], loc[1])}'", loc[2:]
    if len(loc) >= 2 and loc[0] == "datasets" and loc[1] != "[key]":
        if len(loc) >= 4 and loc[2] == "columns" and loc[3] != "[key]":
            return f"column '{loc[3]}' of dataset '{loc[1]}'", loc[4:]
        return f"dataset '{loc[1]}'", loc[2:]
    return None, loc


HINTS = {
    "int_type": "write a whole number", "int_parsing": "write a whole number",
    "int_from_float": "write a whole number", "float_type": "write a number",
    "float_parsing": "write a number", "bool_type": "write true or false",
    "bool_parsing": "write true or false", "string_type": "write text",
    "dict_type": "write a mapping (key: value)", "model_type": "write a mapping (key: value)",
    "model_attributes_type": "write a mapping (key: value)",
    "list_type": "write a list, e.g. [a, b]",
}
PATTERN_HINTS = {
    "regency": "write the Kemendagri code of a Banten regency/city with a dot, e.g. "
               "\"36.71\", or the province code \"36\" for a province-wide feed",
}


def _message(err: dict, doc: dict) -> str:
    """One pydantic error as a registry problem (without the file name)."""
    loc, kind, value = tuple(err["loc"]), err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if "[key]" in loc:   # a mapping's key, not its value, is wrong
        at = loc[: loc.index("[key]") - 1]   # the mapping
        where, rest = _entry(at, doc)
        text = f"{_dotted(at, rest) + ': ' if rest else ''}key {_show(value)}: " \
               f"{HINTS.get(kind, err['msg'])}"
        return f"{where}: {text}" if where else text
    where, rest = _entry(loc, doc)
    prefix = f"{where}: " if where else ""
    inner = f"{_dotted(loc[:-1], rest[:-1])}: " if len(rest) > 1 else ""
    if kind == "extra_forbidden":
        key = str(rest[-1])
        valid = _keys_of(_type_at(loc[:-1]))
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
        return f"{prefix}{inner}unknown key '{key}'; {hint}"
    if kind == "missing" or (kind == "string_too_short" and value == ""):
        return f"{prefix}{inner}missing required field '{rest[-1]}'"
    if not rest:   # the entry as a whole
        detail = str(ctx["error"]) if kind == "value_error" else HINTS.get(kind, err["msg"])
        return f"{prefix}{detail}"
    name = _field(loc, rest)
    if kind == "value_error":
        return f"{prefix}{name}: {ctx['error']}"
    if kind == "literal_error":
        allowed = typing.get_args(_type_at(loc)) or (ctx.get("expected"),)
        return f"{prefix}{name} is {_show(value)}; use one of {sorted(allowed)}"
    if kind == "greater_than_equal":
        whole = _type_at(loc) is int
        return f"{prefix}{name} is {_show(value)}; write a {'whole ' if whole else ''}" \
               f"number >= {ctx['ge']:g}"
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(str(rest[-1]), f"it must match {ctx.get('pattern')}")
        return f"{prefix}{name} is {_show(value)}; {hint}"
    if kind == "too_short":
        return f"{prefix}{name} is {_show(value)}; write at least {ctx.get('min_length')} item"
    return f"{prefix}{name} is {_show(value)}; {HINTS.get(kind, err['msg'])}"


# ------------------------------------------------------------------------ loading


@dataclass
class _Part:
    """One registry file, validated as far as it goes."""

    path: Path
    datasets: dict[str, DatasetModel]
    declared: set[str]               # dataset names written, valid or not
    feeds: list[tuple[str, FeedModel | None]]   # (name for messages, model if valid)
    allowed_hosts: list[str]


def _partial(model: type[BaseModel], raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None   # its problems were reported by the file's validation


def _collect(path: Path, seen: tuple[Path, ...], problems: list[str]) -> list[_Part]:
    """The file at `path` and those it includes, in order; their problems of shape go to
    `problems`. An entry with such a problem is left out of the later checks."""
    if path in seen:
        problems.append(f"{path}: included twice (include loop)")
        return []
    try:
        doc, twice = _read_yaml(path)
    except RegistryError as e:
        if not seen:
            raise   # the registry itself: nothing else to say
        problems.append(f"{seen[-1]}: in 'include': {e}")
        return []
    problems += twice
    try:
        model = RegistryFile.model_validate(doc)
        datasets, includes = dict(model.datasets), model.include
        feeds = [(f.id, f) for f in model.feeds]
        hosts = model.allowed_hosts
    except ValidationError as e:
        problems += [f"{path}: {_message(err, doc)}" for err in e.errors(include_url=False)]
        raw_datasets = doc.get("datasets") if isinstance(doc.get("datasets"), dict) else {}
        datasets = {str(k): m for k, v in raw_datasets.items()
                    if (m := _partial(DatasetModel, v)) is not None}
        raw_feeds = doc.get("feeds") if isinstance(doc.get("feeds"), list) else []
        feeds = [(_feed_name(raw, i), _partial(FeedModel, raw))
                 for i, raw in enumerate(raw_feeds)]
        includes = [str(n) for n in _list_of(doc.get("include"))]
        hosts = [str(h) for h in _list_of(doc.get("allowed_hosts"))]
        declared = {str(k) for k in raw_datasets}
    else:
        declared = set(datasets)
    parts = [_Part(path, datasets, declared, feeds, hosts)]
    for name in includes:
        parts += _collect((path.parent / name).resolve(), (*seen, path), problems)
    return parts


def _list_of(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dataset_spec(name: str, model: DatasetModel) -> DatasetSpec:
    columns = tuple(
        ColumnSpec(col, c.type, c.required, c.personal_data, tuple(c.values or ()),
                   c.description or "")
        for col, c in model.columns.items()
    )
    return DatasetSpec(name, tuple(model.key), columns, model.description,
                       replace_by=tuple(model.replace_by), frequency=model.frequency,
                       regency_column=model.regency_column)


def _dataset_problems(spec: DatasetSpec) -> list[str]:
    problems = []
    unknown = [k for k in spec.key if k not in spec.column_names]
    if unknown:
        problems.append(f"key names unknown columns {unknown}")
    if spec.regency_column is not None and spec.regency_column not in spec.column_names:
        problems.append(f"field 'regency_column' is '{spec.regency_column}', which is not "
                        f"one of its columns {spec.column_names}")
    return problems


def _feed_problems(feed: FeedModel, spec: DatasetSpec, allowed_hosts: tuple[str, ...],
                   base_dir: Path, landing_root: Path) -> list[str]:
    """What is wrong with a feed that has the right shape, given its dataset, the
    registry's allowed hosts and its landing root."""
    problems = []
    canonical = spec.column_names
    known = f"a column of dataset '{spec.name}' ({sorted(canonical)})"
    mapped = {dst: src for src, dst in feed.columns.items()}

    def listed(col: str, value: str, where: str) -> None:
        # a categorical column lists its canonical values: a feed cannot invent one
        allowed = spec.column(col).values
        if allowed and value not in allowed:
            problems.append(f"{where} is '{value}', which is not one of the values of "
                            f"column '{col}' {list(allowed)}")

    for src, dst in feed.columns.items():
        if dst not in canonical:
            problems.append(f"field 'columns' maps '{src}' to '{dst}', which is not {known}")
    for col, mapping in feed.values.items():
        if col not in canonical:
            problems.append(f"values.{col}: '{col}' is not {known}; name a column and map "
                            "each spelling to its canonical value")
            continue
        for spelling, value in mapping.items():
            listed(col, value, f"values.{col}.{spelling}")
    for col, value in feed.constants.items():
        if col not in canonical:
            problems.append(f"constants.{col}: '{col}' is not {known}")
        elif col in mapped:
            problems.append(f"constants.{col}: '{col}' is also read from the file's column "
                            f"'{mapped[col]}' (field 'columns'); keep one")
        else:
            listed(col, value, f"constants.{col}")
    for col in feed.extract:
        if col not in canonical:
            problems.append(f"extract.{col}: '{col}' is not {known}")
        elif col in mapped:
            problems.append(f"extract.{col}: '{col}' is also read from the file's column "
                            f"'{mapped[col]}' (field 'columns'); keep one")
        elif col in feed.constants:
            problems.append(f"extract.{col}: '{col}' is also under 'constants'; keep one")
    if feed.channel == "landing":
        if not feed.path:
            problems.append("missing required field 'path'")
        elif (outside := confinement_problem(feed.path, base_dir, landing_root)):
            problems.append(outside)
    elif not feed.url:
        problems.append("missing required field 'url'")
    else:
        parsed = urlparse(feed.url)
        try:
            port = url_port(feed.url)
        except ValueError:
            port = None
        if parsed.scheme not in ("http", "https") or not parsed.hostname or port is None:
            problems.append(f"field 'url' is '{feed.url}'; write an http(s) URL")
        elif not host_allowed(allowed_hosts, parsed.hostname, port):
            host = normal_host(parsed.hostname)
            named = any(_entry_host(e) == host for e in allowed_hosts)
            problems.append(
                f"field 'url' points at host '{parsed.hostname}'"
                + (f" port {port}, which 'allowed_hosts' {list(allowed_hosts)} does not "
                   "allow (an entry host:port allows that port only)" if named else
                   f", which is not in 'allowed_hosts' {list(allowed_hosts)}; add the "
                   "regency's host there if it is a trusted source"))
    if feed.channel == "ckan":
        if not (feed.ckan.resource or feed.ckan.package):
            problems.append("a ckan feed needs 'ckan: {package: ..., resource: ...}' "
                            "(the dataset id and the resource name or id)")
        if feed.format != "ckan_json":
            problems.append("a ckan feed has format 'ckan_json'")
    return problems


def _entry_host(entry: str) -> str | None:
    try:
        return parse_host_entry(entry)[0]
    except ValueError:
        return None


def _fingerprint(feed: FeedModel, dataset: str, model: DatasetModel) -> str:
    # Defaults are left out of both sides, so writing a default (region_code: dotted) or
    # omitting it is the same feed, and a new optional registry key changes no fingerprint.
    doc = {"feed": feed.model_dump(mode="json", by_alias=True, exclude_defaults=True),
           "dataset": {"name": dataset,
                       **model.model_dump(mode="json", by_alias=True, exclude_defaults=True)}}
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_registry(path: Path) -> Registry:
    """Parse and check the registry at `path` (and the files it includes).

    Raises RegistryError listing every problem found, one per line. Each feed's
    `fingerprint` is the sha256 of its validated entry together with its dataset's spec:
    it changes when either changes, and only then.
    """
    registry_path = Path(path).resolve()
    problems: list[str] = []
    parts = _collect(registry_path, (), problems)

    models: dict[str, DatasetModel] = {}
    datasets: dict[str, DatasetSpec] = {}
    declared: dict[str, Path] = {}
    for part in parts:
        for name in sorted(part.declared):
            if name in declared:
                problems.append(f"{part.path}: dataset '{name}' is declared again "
                                f"(first in {declared[name]})")
            else:
                declared[name] = part.path
        for name, model in part.datasets.items():
            if name in datasets or declared.get(name) != part.path:
                continue
            spec = datasets[name] = _dataset_spec(name, model)
            models[name] = model
            problems += [f"{part.path}: dataset '{name}': {p}" for p in _dataset_problems(spec)]

    allowed_hosts = tuple(str(h).strip().lower() for part in parts for h in part.allowed_hosts)
    landing_root = registry_path.parent
    feeds: list[Feed] = []
    seen: set[str] = set()
    for part in parts:
        for name, model in part.feeds:
            where = f"{part.path}: feed '{name}'"
            if model is None:
                seen.add(name)
                continue   # its shape's problems are reported
            if model.id in seen:
                problems.append(f"{where}: id is used twice; ids must be unique")
            seen.add(model.id)
            if model.dataset not in declared:
                problems.append(
                    f"{where}: field 'dataset' is '{model.dataset}', which is not declared "
                    f"under 'datasets' (known: {sorted(declared)})")
                continue
            if model.dataset not in datasets:
                continue   # its dataset's own problems are reported
            spec = datasets[model.dataset]
            found = _feed_problems(model, spec, allowed_hosts, part.path.parent, landing_root)
            problems += [f"{where}: {p}" for p in found]
            if found:
                continue
            feeds.append(Feed(
                id=model.id,
                regency=model.regency,
                dataset=model.dataset,
                channel=model.channel,
                format=model.format,
                columns=dict(model.columns),
                base_dir=part.path.parent,
                path=model.path if model.channel == "landing" else None,
                url=model.url if model.channel != "landing" else None,
                region_code=model.region_code,
                options=model.options.model_dump(exclude_unset=True),
                ignore_columns=tuple(model.ignore_columns),
                skip_rows_matching=dict(model.skip_rows_matching),
                values={c: dict(m) for c, m in model.values.items()},
                ckan=model.ckan.model_dump(exclude_unset=True),
                allowed_hosts=allowed_hosts,
                constants=dict(model.constants),
                extract={c: Extract(e.source, e.pattern) for c, e in model.extract.items()},
                description=model.description or "",
                fingerprint=_fingerprint(model, model.dataset, models[model.dataset]),
                landing_root=landing_root,
            ))
    if problems:
        raise RegistryError("\n".join(problems), problems)
    return Registry(datasets=datasets, feeds=feeds, path=registry_path,
                    allowed_hosts=allowed_hosts, landing_root=landing_root)


def main(argv: list[str] | None = None) -> int:
    """`python -m flows.registry --write-schema data/feeds.schema.json`"""
    parser = argparse.ArgumentParser(prog="python -m flows.registry",
                                     description="The feed registry's JSON Schema.")
    parser.add_argument("--write-schema", metavar="PATH", required=True,
                        help="write the registry's JSON Schema to PATH")
    args = parser.parse_args(argv)
    write_json_schema(args.write_schema)
    print(f"wrote {args.write_schema}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
