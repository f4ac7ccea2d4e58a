"""Section 6 of the `feeds try` report: the ready-to-paste YAML entry, checked by loading
the registry with it pasted in."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from flows.onboard.entry_yaml import entry_yaml
from flows.onboard.registry_copy import _registry_with
from flows.registry import Extract, Feed, RegistryError, load_registry


class _EntrySection:
    """Section 6; a part of `_Trial` (flows/onboard/trial.py)."""

    def _feed_of(self, entry: dict, tmp: Path) -> Feed:
        """The entry as a Feed without the registry (when it does not validate, the
        preview still shows what it would load)."""
        extract = {c: Extract(v["from"], v["pattern"]) for c, v in
                   (entry.get("extract") or {}).items()}
        return Feed(id=entry["id"], regency=entry["regency"], dataset=entry["dataset"],
                    channel="landing", format=entry["format"], columns=entry["columns"],
                    base_dir=tmp, path=entry["path"], options=entry.get("options") or {},
                    region_code=entry.get("region_code", "dotted"),
                    ignore_columns=tuple(entry.get("ignore_columns") or ()),
                    skip_rows_matching=entry.get("skip_rows_matching") or {},
                    values=entry.get("values") or {}, constants=entry.get("constants") or {},
                    extract=extract)

    def _validated(self, entry: dict, tmp: Path) -> tuple[Feed | None, str | None]:
        """Load the registry with the entry pasted in (replacing a feed of the same id):
        the Feed `load_registry` makes of it, or None and the registry's error."""
        text = entry_yaml(entry)
        pasted = yaml.safe_load("feeds:\n" + text)["feeds"][0]
        copies = tmp / "registry"
        copies.mkdir(exist_ok=True)
        main = _registry_with(self.ctx.registry.path, pasted, copies)
        try:
            registry = load_registry(main)
        except RegistryError as e:
            problems = [p.replace(str(main), str(self.ctx.registry.path)) for p in e.problems]
            problems = [re.sub(re.escape(str(copies)) + r"/registry-\d+\.yml", "(included file)",
                               p) for p in problems]
            return None, "\n".join(problems)
        return next(f for f in registry.feeds if f.id == pasted["id"]), None

    def _section_entry(self, entry: dict, comments: dict[str, str], error: str | None,
                       feed_given: bool) -> None:
        ctx = self.ctx
        out = self.lines
        existing = next((f for f in ctx.registry.feeds if f.id == entry["id"]), None)
        what = ("its entry with the fixes above" if feed_given and self._changed(entry)
                else "its entry" if feed_given else "a new entry")
        out += ["", f"6. Feed entry ({what}; paste under `feeds:` in {ctx.registry.path.name})"]
        if existing is not None and not feed_given:
            out.append(f"   note: feed {entry['id']} exists already: this entry replaces it "
                       f"(or try it as it is: --feed {entry['id']})")
        out.append("")
        out += entry_yaml(entry, comments).rstrip("\n").split("\n")
        out.append("")
        if error is None:
            out.append(f"   this entry validates (the registry {ctx.registry.path.name} "
                       "loads with it)")
        else:
            self.problems.append("the entry does not validate")
            out.append("   this entry does NOT validate:")
            out += [f"     {p}" for p in error.splitlines()]
