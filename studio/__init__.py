"""Tuning Studio's domain: the label store, datasets, runs and models. Never imports Qt."""

__version__ = "0.1.0"
