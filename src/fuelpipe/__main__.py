"""`python -m fuelpipe` is `fuelpipe` (as `python -m fuelpipe.cli`)."""

from fuelpipe.cli.main import cli

if __name__ == "__main__":  # `run --workers` spawns processes, which must not run the CLI again
    cli(prog_name="fuelpipe")
