"""The chaos harness: fault plans, homes under faults, concurrent runs (make chaos, tests)."""
