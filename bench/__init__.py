"""The benchmark of the pipeline at scale: `python -m bench.run --sizes 1000000,10000000`
(or `make bench`). Results in bench/results/, the table in bench/README.md."""
