"""The rendered pages' personal-data check before they are published."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

from flows.common import pii
from flows.quality.data_docs.offline import VENDOR_PREFIX, VENDORED

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# GX's batch and run ids, submission ids and file digests written as bare lower-case hex
# ("5f48e057679749d49d2fe064ad7b01cc"): their digit groups can look like a phone number
# ("057679749"). A token of 12+ hex characters holding a letter is an id, never a NIK, a
# phone number or an e-mail address (those are digits, or have an "@").
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{12,64}\b")


def scan_for_personal_data(root: Path) -> list[pii.Finding]:
    """Every page and script of the rendered docs through `flows.common.pii`'s patterns (NIK,
    mobile numbers, e-mail addresses), text and markup alike. GX's own random element ids
    (UUIDs, bare hex ids and digests) are left out: their digit groups can look like a
    phone number. So are the vendored libraries (`offline.VENDORED`), each only when it is,
    byte for byte, the file of its npm package (its sha256): some of their constants
    (2^53 - 1, ...) look like a NIK or a phone number, and they hold nothing of a
    submission. Any other file there, or a changed one, is scanned like a page."""
    findings: list[pii.Finding] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".js"):
            continue
        if _vendored(root, path):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        text = _HEX_ID.sub(" ", _UUID.sub(" ", html.unescape(text)))
        scanner = pii.ValueScanner(str(path.relative_to(root)), {"page": "text"})
        scanner.add("page", [text])
        findings += scanner.findings()
    return findings



def _vendored(root: Path, path: Path) -> bool:
    rel = path.relative_to(root).as_posix()
    if not rel.startswith(VENDOR_PREFIX):
        return False
    expected = VENDORED.get(rel[len(VENDOR_PREFIX):])
    return expected is not None and hashlib.sha256(path.read_bytes()).hexdigest() == expected
