"""Which received files a run takes: new ones, and quarantined ones whose fix has come.

A file is normally skipped when its sha256 was received before. A quarantined file is
tried again, without a backfill, once what decided its fate has changed: its feed's
registry entry (with its dataset's declaration), its dataset's quality suite, or the
reader's code. Each submission keeps the fingerprint of these it was processed with
(`meta.submissions.fingerprint`); a quarantined file whose feed's fingerprint is no
longer the one it was quarantined with is not "known" any more, so receiving takes it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flows.registry import Feed

FLOWS_DIR = Path(__file__).resolve().parent
# The code that reads, types and checks a file: a change here may turn a refusal around.
READER_CODE = tuple(sorted(str(p.relative_to(FLOWS_DIR)) for package in ("readers", "ingest")
                           for p in (FLOWS_DIR / package).glob("*.py")))


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def intake_fingerprint(feed: Feed, expectations_dir: Path) -> str:
    """What a file of `feed` is judged by: its registry entry and dataset (the registry's
    `Feed.fingerprint`), its dataset's suite and the reader's code."""
    parts = [feed.fingerprint, _file_digest(expectations_dir / f"{feed.dataset}.yml")]
    parts += [_file_digest(FLOWS_DIR / name) for name in READER_CODE]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def known_hashes(con, feeds: list[Feed], fingerprints: dict[str, str]
                 ) -> tuple[set[str], dict[str, set[str]]]:
    """(every sha256 received before, per feed the quarantined ones to try again).

    A file is tried again by the feed that quarantined it last, when that feed's
    fingerprint changed since, and only if it was never accepted (by any feed)."""
    rows = con.execute(
        """
        select sha256, feed_id, status, fingerprint
        from meta.submissions
        qualify row_number() over (partition by sha256 order by received_at desc,
                                   status = 'accepted' desc) = 1
        """).fetchall()
    accepted = {r[0] for r in con.execute(
        "select distinct sha256 from meta.submissions where status = 'accepted'").fetchall()}
    ids = {f.id for f in feeds}
    known: set[str] = set()
    retry: dict[str, set[str]] = {}
    for sha, feed_id, status, fingerprint in rows:
        known.add(sha)
        if (status == "quarantined" and sha not in accepted and feed_id in ids
                and fingerprint != fingerprints.get(feed_id)):
            retry.setdefault(feed_id, set()).add(sha)
    return known, retry
