"""The typer app, shared options, output helpers and error handling for every command."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import typer

from ..errors import CivicTextError

app = typer.Typer(
    name="civictext",
    help="Classify Chinese complaint and news text into governance categories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])

# fmt: off
ModelOpt = typer.Option(None, "--model", "-m", help="Model directory (default: the shipped models/default).", file_okay=False)  # noqa: E501
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
JsonlOpt = typer.Option(False, "--jsonl", help="With '-': each input line is a JSON object with 'text' and optional 'id'.")  # noqa: E501
StrictOpt = typer.Option(False, "--strict", help="With '-': stop at the first bad record (exit code 2).")
# fmt: on


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn civictext errors into a one-line message and an exit code (2 for usage/input errors)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CivicTextError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except BrokenPipeError:  # output piped into head & co.
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any, *, indent: int | None = None) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=indent))


def stdin_lines() -> Iterator[tuple[int, str | None, str | None]]:
    """Lines of standard input as (line number, text, decode problem), each decoded on its own.

    A line that is not valid UTF-8 yields ``(n, None, problem)``; the others are unaffected.
    """
    stream = sys.stdin.buffer
    for lineno, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield lineno, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            continue
        if lineno == 1:
            text = text.lstrip("\ufeff")
        yield lineno, text.rstrip("\r\n"), None


def resolve_model_dir(model: Path | None) -> Path:
    from ..artifacts import default_model_dir

    return model if model is not None else default_model_dir()
