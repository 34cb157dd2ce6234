"""A store filled from the real data files and a served dashboard (browser tests, bench)."""
