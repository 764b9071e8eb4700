"""``mslesion`` entry point: the typer app, global options, and one-line error reporting.

Each command lives in its own module under ``mslesion.cli`` exposing ``register(app)``;
heavy imports (torch, monai, SimpleITK) happen inside the command bodies so that
``mslesion --help`` is instant.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from mslesion import __version__
from mslesion.errors import MSLesionError

# Order is the order shown in `mslesion --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "segment",
    "synth",
    "datasets",
    "preprocess",
    "evaluate",
    "train",
    "crossval",
    "models",
)

err_console = Console(stderr=True)

app = typer.Typer(
    name="mslesion",
    help="Multiple sclerosis lesion segmentation on 3D FLAIR MRI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mslesion {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Show the version and exit.",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """Multiple sclerosis lesion segmentation on 3D FLAIR MRI."""
    # --debug is read from argv by run(): it must be known before typer parses anything.


for _name in COMMAND_MODULES:
    importlib.import_module(f"mslesion.cli.{_name}").register(app)


def run() -> None:
    """Console-script entry: user errors become one red line and exit code 2."""
    debug = "--debug" in sys.argv[1:]
    try:
        app()
    except MSLesionError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    run()
