"""Refusals before a text file is parsed: a file that is not a UTF-8 text table, whatever
its name says (an archive, a PDF, an image, an old Excel file, UTF-16, NUL bytes, an
HTML/XML page served instead of the file)."""

from __future__ import annotations

from pathlib import Path

from flows.readers.table import SubmissionError

MAGIC = {  # files that are not text tables, whatever their name says
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx saved with a .csv name?)",
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls / OLE file (save it as .xlsx or CSV)",
}


def _refuse_non_text(path: Path, name: str) -> None:
    """A web feed that answers with an error page (HTTP 200), a binary file under a .csv
    name, or a UTF-16 export is not the UTF-8 text table the reader expects."""
    with open(path, "rb") as f:
        raw = f.read(65536)
    for magic, what in MAGIC.items():
        if raw.startswith(magic):
            raise SubmissionError(f"{name}: this is {what}, not a text table")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionError(
            f"{name}: the file is UTF-16 ('Unicode text' from Excel); ask the regency to "
            "save it as CSV UTF-8, or set options.encoding: utf-16 on the feed"
        )
    if b"\x00" in raw:
        raise SubmissionError(f"{name}: the file contains NUL bytes (a binary or damaged "
                              "file, not a text table)")
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise SubmissionError(
            f"{name}: this is an HTML/XML page, not data (an error or login page served "
            "instead of the file?); ask the regency for the export itself"
        )
