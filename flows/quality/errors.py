"""The quality gate's exceptions: a validation that could not be run, a malformed suite, a
missing table (a batch that ran and failed is a `Verdict`, not an exception)."""

from __future__ import annotations


class QualityError(Exception):
    """A validation could not be run at all (as opposed to: it ran and the data failed)."""


class SuiteError(QualityError, ValueError):
    """The YAML suite is malformed, or a ``{param: ...}`` it uses was not supplied."""


class TableNotFoundError(QualityError, LookupError):
    """The table to validate does not exist in the database."""
