"""The dbt docs as the public may read them: `dbt docs generate`, then the static docs
site published as `site/dbt-docs/` with no server path and every name, tag and
description escaped (`public_docs`), regenerated only when the dbt project changed."""

from __future__ import annotations

import json
from pathlib import Path

from flows.common.files import swap_dir
from flows.settings import PROJECT_ROOT, Settings, project_dir
from flows.transform import _remember, _state, dbt_dir, project_fingerprint, run_dbt

DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
# Changed whenever `public_docs` publishes differently, so docs published before are redone.
PUBLIC_DOCS_FORMAT = "escape-all-2"


def docs_needed(settings: Settings, fingerprint: str | None = None) -> bool:
    """Whether `publish_docs` has to run `dbt docs generate`."""
    fingerprint = fingerprint or project_fingerprint(settings)
    site_docs = settings.site_dir / "dbt-docs"
    return not (_state(settings).get("docs") == f"{fingerprint}/{PUBLIC_DOCS_FORMAT}"
                and all((site_docs / name).is_file() for name in DOCS_FILES))


def publish_docs(settings: Settings) -> Path:
    """`dbt docs generate`, then publish the static docs site (with lineage) as
    `site/dbt-docs/`, switched in one rename so readers never see half of it. Skipped when
    the published docs were generated from the same project (fingerprint above)."""
    import shutil
    import uuid

    site_docs = settings.site_dir / "dbt-docs"
    fingerprint = project_fingerprint(settings)
    if not docs_needed(settings, fingerprint):
        return site_docs
    run_dbt(settings, "docs", "generate")
    staging = settings.site_dir / f".dbt-docs-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    prefixes = [str(p) for p in (settings.home.resolve(), dbt_dir().resolve(),
                                 project_dir().resolve(), PROJECT_ROOT.resolve())]
    for name in DOCS_FILES:
        if name.endswith(".json"):
            doc = json.loads((settings.dbt_target_dir / name).read_text(encoding="utf-8"))
            (staging / name).write_text(json.dumps(public_docs(doc, prefixes)),
                                        encoding="utf-8")
        else:
            shutil.copyfile(settings.dbt_target_dir / name, staging / name)
    swap_dir(staging, site_docs, old_prefix=".dbt-docs-old-")
    _remember(settings, docs=f"{fingerprint}/{PUBLIC_DOCS_FORMAT}")
    return site_docs


# What dbt docs shows as code (highlighted by Prism, which escapes it): kept as it is.
DOCS_CODE_KEYS = frozenset({"raw_code", "compiled_code", "macro_sql"})


def _no_markup(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def public_docs(value, prefixes: list[str], key: str | None = None):
    """dbt's manifest/catalog as the public docs site may show them: no absolute server
    path (a string under one of `prefixes` keeps only its part below it), and `<` and `>`
    escaped in every text but code (`DOCS_CODE_KEYS`), keys included. dbt docs renders
    descriptions as HTML-capable markdown, and its search results (rendered on every
    page) insert names, tags and column names as HTML: each is metadata anyone with a
    YAML change can set, and must never run script on the catalogue's origin. Keys and
    values are escaped alike, so ids still match between manifest and catalog."""
    if isinstance(value, dict):
        return {_no_markup(k) if isinstance(k, str) else k: public_docs(v, prefixes, k)
                for k, v in value.items()}
    if isinstance(value, list):
        return [public_docs(v, prefixes, key) for v in value]
    if not isinstance(value, str):
        return value
    for prefix in sorted(prefixes, key=len, reverse=True):
        if prefix in value:
            value = value.replace(prefix + "/", "").replace(prefix, ".")
    return value if key in DOCS_CODE_KEYS else _no_markup(value)
