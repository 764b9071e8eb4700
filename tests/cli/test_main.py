"""The `mslesion` entry point: help, version, every subcommand has help."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mslesion import __version__
from mslesion.cli.main import COMMAND_MODULES, app

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "FLAIR" in result.output
    for name in COMMAND_MODULES:
        assert name in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"mslesion {__version__}"


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_each_subcommand_has_help(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and name in result.output
    assert "--help" in result.output


@pytest.mark.parametrize("name", ["datasets", "preprocess"])
def test_foundation_commands_are_documented(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert "not implemented" not in result.output
    assert "--overwrite" in result.output
