"""Read-only access to the published site folder and the internal tree (no Streamlit).

The public catalogue reads only what the pipeline published into the site folder (the
layout is defined once, in flows/common/site_layout.py); the officials' view (after
login only) also reads the internal tree, which lies beside the site folder and is
never served over HTTP (`internal/meta/feeds.json|submissions.json|runs.json|
quality.json`, written by flows/status.py).

It never opens the pipeline's DuckDB warehouse. Every file is replaced atomically by
the publisher, so a reader sees either the old or the new file, never half of one.
Data queries run on the published Parquet with an in-memory DuckDB: previews use
LIMIT/OFFSET and charts aggregate in SQL, so no whole file is loaded into pandas.

One module per job:
- `files`: where the site is, paths that stay inside it, file signatures (cache keys),
  JSON, GeoJSON, SHA256SUMS and bytes;
- `internal`: where the internal tree is and its status files (officials only);
- `catalog`: catalog.json loaded and normalised, a dataset's versions;
- `search`: the search box and the facets;
- `coverage`: which regencies a partial release lacks;
- `releases`: the files of a version and the links to the published docs;
- `quality`: a dataset's sources, quality score, failures and feeds;
- `parquet`: in-memory DuckDB on a Parquet file: schema, counts, pages;
- `chart_queries`: which chart fits a dataset, and the SQL aggregates that draw it;
- `overview`: the officials' province overview (population, complaints).
"""
