"""The Data Docs' one exception."""

from __future__ import annotations


class DataDocsError(RuntimeError):
    """The Data Docs could not be built or failed their personal-data check."""
