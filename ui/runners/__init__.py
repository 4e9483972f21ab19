"""Process runners: QObjects that own backend child processes."""
