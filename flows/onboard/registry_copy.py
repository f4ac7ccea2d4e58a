"""The registry's files (the main one and those it includes), and a copy of them with
one feed entry pasted in, to check a proposed entry with `load_registry` itself."""

from __future__ import annotations

from pathlib import Path

import yaml


def _registry_files(path: Path) -> list[Path]:
    """The registry file and the files it includes, recursively, in order."""
    seen: list[Path] = []

    def visit(p: Path) -> None:
        p = p.resolve()
        if p in seen or not p.is_file():
            return
        seen.append(p)
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        for name in (doc.get("include") or []) if isinstance(doc, dict) else []:
            visit(p.parent / str(name))

    visit(path)
    return seen


def _registry_with(path: Path, entry: dict, folder: Path) -> Path:
    """A copy of the registry at `path` (and the files it includes) in `folder`, with
    `entry` replacing the feed of the same id, or added to the main file's feeds."""
    files = _registry_files(path)
    copies = {p: folder / f"registry-{i}.yml" for i, p in enumerate(files)}
    placed = False
    for source, copy in copies.items():
        doc = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        doc["include"] = [str(copies.get((source.parent / str(n)).resolve(),
                                         (source.parent / str(n)).resolve()))
                          for n in doc.get("include") or []]
        feeds = doc.get("feeds") or []
        for i, raw in enumerate(feeds):
            if isinstance(raw, dict) and raw.get("id") == entry.get("id") and not placed:
                feeds[i], placed = entry, True
        doc["feeds"] = feeds
        copies[source] = copy
        copy.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    main = copies[files[0]]
    if not placed:
        doc = yaml.safe_load(main.read_text(encoding="utf-8"))
        doc["feeds"] = [*(doc.get("feeds") or []), entry]
        main.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    return main
