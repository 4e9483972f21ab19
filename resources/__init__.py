"""Bundled data files: icons, styles, presets and starter data (no code)."""
