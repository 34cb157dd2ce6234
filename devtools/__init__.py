"""Development tooling kept outside the runtime package: nothing in ``src/fuelpipe`` imports it.

The snapshot builder, the synthetic data generator, the local AWS servers, the chaos harness and
the demo's golden-output check live here; tests import it (pytest puts the repository root on
``sys.path``) and so do ``scripts/``. None of it is in a Lambda zip or the wheel.
"""
