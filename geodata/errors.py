"""zoufang's exceptions. Each subclasses a builtin so callers can catch ours
and turn them into user messages, and let everything else surface as a bug."""

from __future__ import annotations


class ZoufangError(Exception):
    """Base of every error zoufang reports to a user (never shown as a traceback)."""


class CampaignReadError(ZoufangError, OSError):
    """The input cannot be read at all: missing file, not a GeoPackage, unknown layer."""


class ValidationError(ZoufangError, ValueError):
    """The campaign has data errors; ``findings`` lists every one of them."""

    def __init__(self, message: str, findings=()):
        super().__init__(message)
        self.findings = list(findings)


class CRSError(ZoufangError, ValueError):
    """An unknown or unusable coordinate reference system."""


class ImportFormatError(ZoufangError, ValueError):
    """A source file for `zoufang import` has an unsupported format or missing columns."""
