"""`python -m fuelpipe.cli` is `fuelpipe`."""

from fuelpipe.cli.main import app

app(prog_name="fuelpipe")
