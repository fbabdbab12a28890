"""tierslieu — runs a municipal tiers-lieu and its FabLab."""

__version__ = "0.1.0"
