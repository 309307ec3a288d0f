"""Everything the Legnext Video Studio does that is not drawing: importable without a browser."""
