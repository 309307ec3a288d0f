"""The Create page's modes: one module each, drawn by ``pages/create.py``."""
