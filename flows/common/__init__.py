"""Helpers every stage may use: files, SQL quoting, personal data, periods.

Nothing here imports from another part of `flows`: this is the first stage."""
