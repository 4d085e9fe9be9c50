"""The package version, in a module of its own: the package and persistence both import it."""

__version__ = "0.3.0"
