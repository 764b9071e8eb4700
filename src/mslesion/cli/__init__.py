"""Command-line interface (typer + rich). One small module per command."""
