"""The dataset metadata every release carries: the Satu Data Indonesia
block (BPS MS-Ind fields, reference code lists) of `datapackage.json`, `data.json` and
the XLSX metadata sheet."""

from __future__ import annotations

from flows.common.marts import MartSpec

# Satu Data Indonesia / BPS MS-Ind fields a mart may add under meta.open_data.
OPTIONAL_SATUDATA = ("konsep", "definisi", "metode_perhitungan", "klasifikasi_penyajian",
                     "level_estimasi")
# Region codes and the code lists they come from (Satu Data "kode referensi").
REFERENCE_CODES = {"kode_wilayah": "Kode wilayah administrasi pemerintahan (Kemendagri)"}


def _reference_codes(mart: MartSpec) -> dict | str | None:
    if mart.meta.get("kode_referensi"):
        return mart.meta["kode_referensi"]
    codes = {c["name"]: REFERENCE_CODES[c["name"]] for c in mart.columns
             if c["classification"] == "public" and c["name"] in REFERENCE_CODES}
    return codes or None


def satudata_metadata(mart: MartSpec, temporal: str | None) -> dict:
    """The Satu Data Indonesia metadata of a dataset (datapackage.json and data.json)."""
    meta = mart.meta
    block = {
        "title": meta["title"],
        "description": meta["description"],
        "theme": meta["theme"],
        "unit": meta["unit"],                   # satuan
        "frequency": meta["frequency"],         # frekuensi
        "produsen_data": meta["produsen_data"],
        "walidata": meta["walidata"],
        "spatial": meta["spatial"],             # cakupan wilayah
        "temporal": temporal,                   # cakupan waktu
        "source": meta["source"],
        "license": meta["license"],
        "synthetic": meta["synthetic"],
    }
    codes = _reference_codes(mart)
    if codes:
        block["kode_referensi"] = codes
    for key in OPTIONAL_SATUDATA:
        if meta.get(key):
            block[key] = meta[key]
    return block
