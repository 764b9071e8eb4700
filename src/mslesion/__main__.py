from mslesion.cli.main import run

run()
