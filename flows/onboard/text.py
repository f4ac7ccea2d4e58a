"""Text as the proposal compares it: headers normalised (case, accents, punctuation,
the usual abbreviations), their similarity and lowest part, number-looking cells, and the
regencies' names and id slugs (data/reference)."""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from pathlib import Path

from flows.readers import HEADER_PART_SEPARATOR
from flows.registry import PROVINCE

# Short forms regency offices write in headers ("Jml Pddk", "L", "P").
ABBREVIATIONS = {
    "jml": "jumlah", "jmlh": "jumlah", "pddk": "penduduk", "pend": "penduduk",
    "lk": "laki laki", "l": "laki laki", "pr": "perempuan", "p": "perempuan",
    "kd": "kode", "thn": "tahun", "smt": "semester", "kab": "kabupaten",
    "kec": "kecamatan", "kel": "kelurahan",
}


def _norm(text: str) -> str:
    """A header as compared for the proposal: case, accents, punctuation and underscores
    ignored, the usual abbreviations written out ("Jml. Pddk (jiwa)" -> "jumlah penduduk
    jiwa")."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", str(text))
                    if not unicodedata.combining(ch))
    words = re.sub(r"[\W_]+", " ", plain.casefold()).split()
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


def _similarity(a: str, b: str) -> float:
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()


def _lowest_part(header: str) -> str | None:
    """The lowest part of a header written over several rows ("Laki-laki" of "Jumlah
    Penduduk / Laki-laki"), None for a one-row header."""
    if HEADER_PART_SEPARATOR not in header:
        return None
    return header.rsplit(HEADER_PART_SEPARATOR, 1)[1]


NUMBER_TEXT = re.compile(r"[+-]?\d[\d.,]*")


def _is_number_text(text: str) -> bool:
    return bool(NUMBER_TEXT.fullmatch(text.strip()))


def regency_slug(name: str) -> str:
    """The id prefix of a regency's feeds: "Kabupaten Serang" -> "kab-serang",
    "Kota Tangerang Selatan" -> "kota-tangerang-selatan"."""
    words = re.sub(r"[^0-9a-z]+", " ", name.casefold()).split()
    if words and words[0] == "kabupaten":
        words[0] = "kab"
    return "-".join(words)


def _name_key(text: str) -> str:
    # as the warehouse's sd_name_key compares region names ("Kab. Lebak" = "KABUPATEN LEBAK")
    text = re.sub(r"[\s_]+", " ", text.casefold()).strip()
    return re.sub(r"\bkab(\.|\b)\s*", "kabupaten ", text)


def load_regencies(reference_dir: Path) -> dict[str, str]:
    """Kemendagri code -> name of Banten's regencies/cities (data/reference), plus the
    province itself ("36" -> "Provinsi Banten") for province-wide feeds."""
    with open(reference_dir / "wilayah_kabupaten_kota.csv", encoding="utf-8") as f:
        names = {r["kode_wilayah"]: r["nama"] for r in csv.DictReader(f)}
    return {PROVINCE: "Provinsi Banten", **names}
