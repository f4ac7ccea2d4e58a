"""The licences a dataset may carry and the URL of each licence's text: one list for the
publisher (datapackage.json, data.json, the XLSX metadata sheet) and the catalogue app
(the dataset page's licence link). Standard library only."""

from __future__ import annotations

LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "PDDL-1.0": "https://opendatacommons.org/licenses/pddl/1-0/",
}
