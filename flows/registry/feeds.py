"""The registry as the rest of the code receives it: frozen dataclasses (`Registry`,
`Feed`, `Extract`, `LandingFiles`) built from the validated models, and `RegistryError`.

The dataset specs (`DatasetSpec`, `ColumnSpec`) are in flows/common/datasets.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flows.common.datasets import DatasetSpec

NETWORK_DEFAULTS = {"timeout_s": 30.0, "retries": 3, "retry_delay_s": 2.0}
PROVINCE = "36"   # Banten


class RegistryError(ValueError):
    """The feed registry cannot be used. The message has one line per problem, each naming
    the file, the entry and the field; `problems` holds the same lines as a list."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


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
