"""Reproducible runs behind the README's tables: the demo and the paper experiments."""
