"""The bulk download: one zip of every file of every latest release."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile

from flows.common.files import atomic_target
from flows.common.marts import MartSpec
from flows.publish.release import _latest_releases, _remove_leftovers
from flows.publish.site import BULK_ZIP, dataset_dir
from flows.settings import Settings


def write_bulk_zip(settings: Settings, marts: list[MartSpec]) -> dict | None:
    """`site/downloads/satudata-banten-latest.zip`: every file of every latest release
    under `<slug>/`. Written aside and renamed; rebuilt only when a latest version
    changed (the set of versions is kept in the zip's comment)."""
    site = settings.site_dir
    published = _latest_releases(site, marts)
    target = site / BULK_ZIP
    if not published:
        return None
    versions = {mart.slug: history[0]["version"] for mart, history in published}
    stamp = json.dumps(versions, sort_keys=True).encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target.parent)
    current = None
    if target.exists():
        try:
            with zipfile.ZipFile(target) as zf:
                current = zf.comment
        except zipfile.BadZipFile:
            current = None
    if current != stamp:
        with (atomic_target(target, sync=True) as tmp,
              zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf):
            zf.comment = stamp
            for mart, history in published:
                latest = history[0]
                folder = dataset_dir(site, mart.slug) / latest["version"]
                stamp_time = dt.datetime.fromisoformat(latest["published_at"])
                for p in sorted(folder.iterdir()):
                    info = zipfile.ZipInfo(f"{mart.slug}/{p.name}",
                                           date_time=stamp_time.timetuple()[:6])
                    info.external_attr = 0o644 << 16
                    info.compress_type = (zipfile.ZIP_STORED
                                          if p.suffix in (".parquet", ".xlsx")
                                          else zipfile.ZIP_DEFLATED)
                    with open(p, "rb") as src, zf.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
    return {"path": BULK_ZIP, "bytes": target.stat().st_size, "datasets": versions}
