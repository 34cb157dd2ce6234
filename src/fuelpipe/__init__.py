"""fuelpipe: how oil shares, currencies and crude move Brazilian pump prices."""

__version__ = "0.1.0"
