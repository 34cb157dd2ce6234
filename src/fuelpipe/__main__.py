"""`python -m fuelpipe` is `fuelpipe`, as `python -m fuelpipe.cli` is."""

import runpy

if __name__ == "__main__":  # `run --workers` spawns processes, which must not run the CLI again
    runpy.run_module("fuelpipe.cli", run_name="__main__", alter_sys=True)
