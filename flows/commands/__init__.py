"""The `satudata` commands, one module per group of commands; `flows/cli.py` parses the
arguments and calls them. Each command imports what it needs when it runs, so
`satudata --help` and the quick commands stay quick."""
