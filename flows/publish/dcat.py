"""`data.json`: the catalogue as DCAT-US 1.1 (Project Open Data) for harvesters."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flows.common import periods
from flows.common.files import write_json_atomic
from flows.common.licences import LICENSE_URLS
from flows.common.marts import MartSpec
from flows.publish.coverage import catalog_coverage, coverage_text, current_coverage
from flows.publish.datapackage import DATAPACKAGE_SPEC
from flows.publish.formats import FORMAT_DESCRIPTIONS, FORMAT_NAMES, FORMATS, MEDIA_TYPES
from flows.publish.release import _latest_releases
from flows.publish.satudata_metadata import satudata_metadata
from flows.publish.site import DATA_JSON, base_url, site_url, stable_url
from flows.settings import Settings

PUBLISHER_PARENT = "Pemerintah Provinsi Banten"
DCAT_US_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
ISO_PERIODICITY = re.compile(
    r"^R/P(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)


def _temporal_interval(temporal: str | None) -> str | None:
    """'2020/2024-S2' -> '2020-01-01/2024-12-31' (ISO 8601 with inclusive ends, for
    DCAT-US); None if either end is not a period (flows.common.periods)."""
    if not temporal:
        return None
    lo, _, hi = temporal.partition("/")
    try:
        start, end = periods.parse(lo), periods.parse(hi or lo)
    except periods.PeriodError:
        return None
    return f"{start.start.isoformat()}/{end.last_day.isoformat()}"


def build_data_json(site: Path, marts: list[MartSpec], base: str | None = None) -> dict:
    """The catalogue as DCAT-US 1.1 (Project Open Data `data.json`, non-federal), with
    stable `latest` download URLs, for CKAN's data.json harvester and the national
    portal. Satu Data Indonesia metadata rides along in a `satudata` object per dataset
    (the schema allows extra properties); the standard fields carry what they can."""
    base = base or base_url()
    datasets = []
    for mart, history in _latest_releases(site, marts):
        latest, first = history[0], history[-1]
        datasets.append(_dcat_dataset(mart, latest, first, base,
                                      current_coverage(site, latest)))
    return {
        "@context": f"{DCAT_US_SCHEMA}/catalog.jsonld",
        "@id": site_url(DATA_JSON, base),
        "@type": "dcat:Catalog",
        "conformsTo": DCAT_US_SCHEMA,
        "describedBy": f"{DCAT_US_SCHEMA}/catalog.json",
        "dataset": datasets,
    }


def _dcat_dataset(mart: MartSpec, latest: dict, first: dict, base: str,
                  coverage: dict | None = None) -> dict:
    """One DCAT-US dataset. DCAT-US has no field for regional coverage: a partial
    dataset says what it lacks at the end of its description (Indonesian, then English),
    sets `dataQuality` false, and carries the details in `satudata.coverage`."""
    slug, meta = mart.slug, mart.meta
    datapackage_url = stable_url(slug, "datapackage.json", base)
    contact = {"@type": "vcard:Contact", "fn": meta["walidata"]}
    email = meta.get("contact_email") or os.environ.get("SATUDATA_CONTACT_EMAIL")
    if email:
        contact["hasEmail"] = f"mailto:{email}"
    distributions = [
        {
            "@type": "dcat:Distribution",
            "title": f"{meta['title']['id']} ({FORMAT_NAMES[fmt]})",
            "description": FORMAT_DESCRIPTIONS[fmt],
            "downloadURL": stable_url(slug, f"{slug}.{fmt}", base),
            "mediaType": MEDIA_TYPES[fmt],
            "format": FORMAT_NAMES[fmt],
            "describedBy": datapackage_url,
            "describedByType": "application/json",
        }
        for fmt in FORMATS if fmt in latest["files"]
    ]
    distributions.append({
        "@type": "dcat:Distribution",
        "title": "datapackage.json",
        "description": "Frictionless Data Package: Table Schema, metadata, checksums",
        "downloadURL": datapackage_url,
        "mediaType": "application/json",
        "format": "Frictionless Data Package",
        "conformsTo": DATAPACKAGE_SPEC,
    })
    frequency = meta["frequency"]
    dataset = {
        "@type": "dcat:Dataset",
        "identifier": f"satudata-banten:{slug}",
        "title": meta["title"]["id"],
        "description": meta["description"]["id"],
        "keyword": list(meta["keywords"]),
        "issued": first["published_at"],
        "modified": latest["published_at"],
        "publisher": {"@type": "org:Organization", "name": meta["walidata"],
                      "subOrganizationOf": {"@type": "org:Organization",
                                            "name": PUBLISHER_PARENT}},
        "contactPoint": contact,
        "accessLevel": "public",
        "license": LICENSE_URLS.get(meta["license"]),
        "spatial": meta["spatial"],
        "accrualPeriodicity": frequency if ISO_PERIODICITY.match(frequency) else "irregular",
        "theme": [meta["theme"]],
        "language": ["id"],
        "landingPage": f"{base}/?dataset={slug}",
        "describedBy": datapackage_url,
        "describedByType": "application/json",
        "conformsTo": DATAPACKAGE_SPEC,
        "distribution": distributions,
        "satudata": satudata_metadata(mart, latest["temporal"])
        | {"version": latest["version"], "rows": latest["rows"]}
        | ({"coverage": catalog_coverage(coverage)} if coverage else {}),
    }
    if coverage and coverage.get("partial"):
        dataset["description"] = " ".join([dataset["description"].rstrip(),
                                           coverage_text(coverage, "id"),
                                           coverage_text(coverage, "en")])
        dataset["dataQuality"] = False       # incomplete: not every regency is in it
    temporal = _temporal_interval(latest["temporal"])
    if temporal:
        dataset["temporal"] = temporal
    return dataset


def write_data_json(settings: Settings, marts: list[MartSpec]) -> dict:
    """Write `site/data.json` (replaced in one step); returns it."""
    doc = build_data_json(settings.site_dir, marts)
    write_json_atomic(settings.site_dir / DATA_JSON, doc)
    return doc
