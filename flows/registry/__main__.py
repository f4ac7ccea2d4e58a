"""`python -m flows.registry --write-schema data/feeds.schema.json` (flows/registry/schema.py)."""

from __future__ import annotations

from flows.registry.schema import main

if __name__ == "__main__":
    raise SystemExit(main())
