"""`python -m fuelpipe.cli` is `fuelpipe`."""

from fuelpipe.cli.main import cli

cli(prog_name="fuelpipe")
