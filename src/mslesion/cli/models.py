"""`mslesion models` (placeholder until its issue lands; the owning work replaces this file)."""

import typer


def register(app: typer.Typer) -> None:
    @app.command("models", help="(not implemented yet)")
    def _cmd() -> None:
        raise typer.Exit(1)
