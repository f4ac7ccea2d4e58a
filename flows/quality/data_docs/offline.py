"""GX's pages made self-contained: they load Bootstrap, jQuery, bootstrap-table, Font
Awesome and Vega from CDNs. `_make_offline` removes every external `<script>`/`<link>`,
points the logo and favicon at the copies GX ships (kept in `static/`), unwraps links to
greatexpectations.io, drops the newsletter footer, and adds the package's assets
(`assets/`, copied to `static/satudata/`):

- `docs.css`, a Bootstrap subset for the classes GX uses, and `docs.js`, the few
  jQuery/Bootstrap calls GX's inline scripts make (tables, tabs, collapsibles, the
  failed-only filter) and the `vegaEmbed` GX's charts call;
- `vendor/`: Vega, Vega-Lite, vega-embed and vega-interpreter as published on npm (the
  versions GX's pages ask for, see `vendor/README.md`), loaded by the pages that hold a
  chart. The site's Content-Security-Policy forbids eval: `docs.js` calls vega-embed with
  `ast: true` and vega-interpreter's `expressionInterpreter`.

No page requests anything from another host.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ASSETS = Path(__file__).resolve().with_name("assets")
ASSETS_DIR = ("static", "satudata")          # under the docs' root
VENDOR_PREFIX = "static/satudata/vendor/"
# The vendored files, byte for byte as in their npm packages (vendor/README.md): a page
# with a chart loads the scripts in this order. The personal-data scan knows them by digest.
VENDORED = {
    "vega.min.js": "463f3db6a40b20e9747b4ed38f37ed0add508838f9141b1cf8366784b07b30c8",
    "vega-lite.min.js": "58c27358e26f2d319cf62f45bc17a4c8362f08645001df2ec8d341eee4097c7f",
    "vega-interpreter.min.js":
        "ee191cf04168e0c043214cea7c4e5ef80e908daa0e757c19c8061df5f898cf89",
    "vega-embed.min.js": "12d02acfbe3ec59ef9a37dd4822a2e04e2961b5bbb671bbe661d2221715b99da",
}
_CHART = "vegaEmbed("

_EXTERNAL_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>\s*", re.I)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*", re.I)
_EXTERNAL_ANCHOR = re.compile(
    r"<a\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>(.*?)</a>", re.I | re.S)
_LOGO = re.compile(r"(<img\b[^>]*\bsrc\s*=\s*\")(?:https?:)?//[^\"]*?logo-long\.png[^\"]*\"",
                   re.I)
_FAVICON = re.compile(r"(<link\b[^>]*rel=\"shortcut icon\"[^>]*href=\")[^\"]*(\")", re.I)
_CSS_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", re.I)
_NEWSLETTER = re.compile(r"<footer>(?:(?!</footer>).)*newsletter(?:(?!</footer>).)*</footer>",
                         re.I | re.S)
_EXTERNAL_ATTR = re.compile(r"\s(src|href)\s*=\s*([\"'])(?:https?:)?//[^\"']*\2", re.I)
_HEAD = re.compile(r"<head>", re.I)
_BODY = re.compile(r"(<body\b[^>]*>)", re.I)
KEEP_STATIC = ("images/favicon.ico", "images/logo-long.png")


def _make_offline(root: Path) -> None:
    """Rewrite every page so that it loads nothing from another host (see the module
    docstring) and keep only the static files the pages use."""
    static = root / "static"
    keep = {static / rel for rel in KEEP_STATIC}
    if static.is_dir():
        for path in sorted(static.rglob("*"), reverse=True):
            if path.is_file() and path not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    shutil.copytree(ASSETS, root.joinpath(*ASSETS_DIR), dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".*", "__pycache__"))
    for page in root.rglob("*.html"):
        depth = len(page.relative_to(root).parts) - 1
        page.write_text(offline_html(page.read_text(encoding="utf-8"), "../" * depth),
                        encoding="utf-8")


def offline_html(text: str, up: str) -> str:
    """One GX page made self-contained; `up` leads from the page to the docs' root."""
    text = _EXTERNAL_SCRIPT.sub("", text)
    text = _EXTERNAL_LINK.sub("", text)
    text = _LOGO.sub(lambda m: f'{m.group(1)}{up}static/images/logo-long.png"', text)
    text = _FAVICON.sub(lambda m: f"{m.group(1)}{up}static/images/favicon.ico{m.group(2)}",
                        text)
    text = _CSS_URL.sub("none", text)
    text = _NEWSLETTER.sub("", text)
    text = _EXTERNAL_ANCHOR.sub(lambda m: m.group(1), text)
    text = _EXTERNAL_ATTR.sub("", text)
    # A page with a chart loads the vendored libraries first: docs.js wraps their vegaEmbed.
    vendor = "".join(f'\n    <script src="{up}{VENDOR_PREFIX}{name}"></script>'
                     for name in VENDORED) if _CHART in text else ""
    local = (f'{vendor}\n    <link rel="stylesheet" href="{up}static/satudata/docs.css">'
             f'\n    <script src="{up}static/satudata/docs.js"></script>')
    text = _HEAD.sub(lambda m: m.group(0) + local, text, count=1)
    banner = ('\n<div class="sd-banner">Satu Data Banten · Laporan mutu data / data quality '
              'reports (Great Expectations Data Docs). Data pribadi disamarkan / personal '
              'data is masked.</div>')
    return _BODY.sub(lambda m: m.group(1) + banner, text, count=1)

