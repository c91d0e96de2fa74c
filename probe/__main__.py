from probe.cli.main import run

run()
