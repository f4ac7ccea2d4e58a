"""`save_result`: keep one masked GX result per validated file, under
`$SATUDATA_HOME/quality/validations/<dataset>/<feed>/`, and choose the ones `build` renders.

Only masked results are ever written to disk (`masking.mask_result`). Bounded: the store
keeps the newest `KEEP_PER_STATUS` results per feed and status (accepted / quarantined), and
`select_results` picks the newest result per feed and status.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from flows import timing
from flows.common.files import write_text_atomic
from flows.quality.data_docs.masking import (
    _redact_text,
    dataset_has_personal,
    mask_result,
    personal_columns,
)
from flows.settings import Settings

log = logging.getLogger(__name__)

STORE_DIR = ("quality", "validations")       # under $SATUDATA_HOME
KEEP_PER_STATUS = 3       # stored results per feed and status (build renders the newest)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def store_dir(settings: Settings) -> Path:
    return settings.home.joinpath(*STORE_DIR)



def save_result(settings: Settings, *, submission_id: str, feed_id: str, regency: str,
                dataset: str, file_name: str, status: str, received_at: Any,
                verdict: Any) -> None:
    """Keep `verdict.gx_result`, masked, for `build`; prune the feed's older results.

    Cheap (one small JSON write, one directory listing). An empty result is skipped. It
    never raises: Data Docs are a report, a failure here is logged and must not stop the
    file's ingestion."""
    gx_result = getattr(verdict, "gx_result", None)
    if not gx_result:
        return
    try:
        with timing.timed("data_docs.save"):
            _save(settings, submission_id=submission_id, feed_id=feed_id, regency=regency,
                  dataset=dataset, file_name=file_name, status=status,
                  received_at=received_at, gx_result=gx_result)
    except Exception:   # a report must never fail ingestion
        log.warning("Data Docs: could not keep the GX result of %s (%s)", file_name, feed_id,
                    exc_info=True)


def _save(settings: Settings, *, submission_id: str, feed_id: str, regency: str,
          dataset: str, file_name: str, status: str, received_at: Any,
          gx_result: dict) -> None:
    received = _utc(received_at)
    saved = dt.datetime.now(dt.UTC)
    personal = personal_columns(settings, dataset)
    masked = mask_result(gx_result, personal,
                         dataset_personal=dataset_has_personal(settings, dataset))
    doc = {
        "submission_id": str(submission_id),
        "feed_id": str(feed_id),
        "regency": str(regency),
        "dataset": str(dataset),
        "file_name": _redact_text(str(file_name)),
        "status": str(status),
        "received_at": received.isoformat(),
        "validated_at": saved.isoformat(),
        "gx_result": masked,
    }
    folder = store_dir(settings) / _safe(dataset) / _safe(feed_id)
    folder.mkdir(parents=True, exist_ok=True)
    # The name sorts by received time, then validation time: the newest file of a feed is
    # found (and older ones pruned) from a directory listing, without opening any file.
    name = (f"{_stamp(received)}__{_stamp(saved)}__{_token(status)}__"
            f"{_token(submission_id)[:32]}.json")
    write_text_atomic(folder / name, json.dumps(doc, ensure_ascii=False, default=str))
    _prune(folder)


def _stored_by_status(folder: Path) -> dict[str, list[str]]:
    """A feed's stored result files, by status (names: received__validated__status__id)."""
    by_status: dict[str, list[str]] = {}
    for name in os.listdir(folder):
        parts = name.split("__")
        if name.endswith(".json") and not name.startswith(".") and len(parts) == 4:
            by_status.setdefault(parts[2], []).append(name)
    return by_status


def _prune(folder: Path) -> None:
    for names in _stored_by_status(folder).values():
        for old in sorted(names)[:-KEEP_PER_STATUS]:
            (folder / old).unlink(missing_ok=True)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    if isinstance(value, str):
        try:
            return _utc(dt.datetime.fromisoformat(value))
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S%fZ")


def _safe(text: str) -> str:
    return _SAFE_NAME.sub("_", str(text)).strip("._") or "_"


def _token(text: str) -> str:
    """One part of a stored file's name (no "__", which separates the parts)."""
    return _safe(text).replace("_", "-")



def select_results(settings: Settings) -> list[Path]:
    """The stored results `build` renders: the newest per feed and status."""
    root = store_dir(settings)
    chosen: list[Path] = []
    if not root.is_dir():
        return chosen
    for dataset_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for feed_dir in sorted(p for p in dataset_dir.iterdir() if p.is_dir()):
            chosen += [feed_dir / max(names)
                       for _, names in sorted(_stored_by_status(feed_dir).items())]
    return chosen
