"""Models built locally from weights that ship inside registry packages (no model hub)."""
