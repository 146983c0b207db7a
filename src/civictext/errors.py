"""Errors and warnings raised by civictext.

Library code raises these; only :mod:`civictext.cli` turns them into exit codes.
Every message names the thing that was wrong (record, file and line, parameter) and
what would have been accepted.
"""

from __future__ import annotations


class CivicTextError(Exception):
    """Base class of every error civictext raises on purpose."""

    exit_code = 1


class ConfigError(CivicTextError, ValueError):
    """A parameter or configuration value is invalid."""

    exit_code = 2


class InputError(CivicTextError, ValueError):
    """An input record or file cannot be used (empty text, bad encoding, malformed line...)."""

    exit_code = 2


class ResourceError(CivicTextError):
    """A packaged resource (dictionary, taxonomy, gazetteer) is missing or corrupt."""

    exit_code = 2


class ArtifactError(CivicTextError):
    """A model directory is missing, incomplete, corrupt or does not match its metadata."""

    exit_code = 2


class CivicTextWarning(UserWarning):
    """Warnings issued by civictext (ignored parameters, mismatched backends...)."""


def value_invalid_msg(name: str, value: object, allowed: object) -> str:
    """Build the standard message for a parameter with a value outside what is allowed.

    Examples
    --------
    >>> value_invalid_msg("backend", "pkuseg", ["auto", "jieba", "rjieba"])
    "invalid value for backend: 'pkuseg'; allowed: ['auto', 'jieba', 'rjieba']"
    """
    return f"invalid value for {name}: {value!r}; allowed: {allowed}"
