"""The ``civictext`` command line: a thin shell over library functions.

Each command lives in its own module and registers itself on the shared typer ``app``.
Library code raises :class:`~civictext.errors.CivicTextError`; ``_util.handle_errors``
turns it into a one-line message and exit code 2 (usage and input errors).
"""

from __future__ import annotations

from . import (  # noqa: F401  (commands register on import)
    analyze,
    classify,
    convert,
    experiment,
    extract,
    keywords,
    report,
    route,
    segment,
    serve,
    tag,
    train,
    trust,
)
from ._util import app


def main() -> None:
    app()


__all__ = ["app", "main"]
