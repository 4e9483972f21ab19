"""Child-process entry points (`python -m backends.X`). They never import Qt and speak JSON lines."""
