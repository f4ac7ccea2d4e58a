"""The shape of a registry file as pydantic models (`RegistryFile` and the models of its
datasets, columns, feeds, options...). Every level forbids unknown keys, so a misspelt
`personal_dta:` is an error, not a silently unprotected column. The field descriptions
are those of the JSON Schema (flows/registry/schema.py).
"""

from __future__ import annotations

import re
import typing
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from flows.registry.confinement import _host_entry
from flows.registry.feeds import NETWORK_DEFAULTS

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


REGENCY_PATTERN = r"^36(\.\d{2})?$"
SCHEMA_TITLE = "Satu Data Banten feed registry"


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
    schedule: str | None = Field(
        None, pattern=r"^\S+( \S+){4}$",
        description="When its scheduled deployment checks for new files: a 5-field cron "
        "expression in Asia/Jakarta time (e.g. '0 7 1 * *', 07:00 on the 1st of the "
        "month). Default: from `frequency` (daily 06:30 for R/P1D, weekly on Monday for "
        "R/P1W, otherwise 09:00 on the 1st of the month).")
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
