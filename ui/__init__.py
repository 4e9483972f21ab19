"""The PySide6 desktop app: thin views and Qt models over `studio`."""
