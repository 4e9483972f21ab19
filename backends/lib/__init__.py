"""What the job entry points in ``backends/`` share: each module here is imported by an entry
point, never run as ``python -m``. The entry points are the modules directly in ``backends/``."""
