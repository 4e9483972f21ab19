"""Child-process entry points (`python -m backends.X`): no Qt, JSON lines out."""
