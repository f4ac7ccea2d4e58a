"""Tools for development, tests and the benchmark; not part of the production package.

`tools.generate` writes the synthetic regency submissions (`python -m tools.generate`)."""
