"""The `fuelpipe` command line."""
