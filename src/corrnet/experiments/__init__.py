"""Reproducible runs behind the results tables: the demo and the experiments.

``REGISTRY`` maps each experiment's name (``corrnet experiment NAME``) to a function with one keyword
signature, :class:`Run`; each writes ``results.{md,csv,json}`` and ``index.html`` into ``out`` and
returns a dict with at least ``"markdown"`` (the table). A new experiment is one function here and
its module; the CLI lists and dispatches the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Run(Protocol):
    def __call__(
        self,
        out: str | Path,
        *,
        seeds: tuple[int, ...],
        methods: tuple[str, ...] | None = None,
        data_dir: str | None = None,
        subset: int | None = None,
        epochs: int | None = None,
        verbose: bool = True,
        locales: tuple[str, ...] | None = None,
    ) -> dict[str, Any]: ...


def _paper(name: str) -> Run:
    """The paper-protocol experiments (runner.py): every method x seed on one dataset."""

    def run(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
        from .runner import run_experiment

        return run_experiment(
            name, out, list(seeds), epochs, subset, list(methods) if methods else None, data_dir, verbose
        )

    return run


def _semi_paired(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
    from .semi import run_semi_paired

    return run_semi_paired(out, seeds=seeds, epochs=epochs, subset=subset, data_dir=data_dir, verbose=verbose)


def _av_digits(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
    from .semi import run_av_experiment

    return run_av_experiment(out, seeds=seeds, epochs=epochs, subset=subset, data_dir=data_dir, verbose=verbose)


def _defaults(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
    from .defaults import METHODS, run_defaults

    return run_defaults(out, methods=methods or METHODS, seeds=seeds, data_dir=data_dir, subset=subset, verbose=verbose)


def _multi30k(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
    from .multi30k import METHODS, run_multi30k

    return run_multi30k(
        out, methods=methods or METHODS, seeds=seeds, data_dir=data_dir, subset=subset, epochs=epochs, verbose=verbose
    )


def _nview(which: str) -> Run:
    def run(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
        from .nview import run_bridge, run_quadrants

        return (run_quadrants if which == "mnist-quadrants" else run_bridge)(
            out, seeds, data_dir, subset, epochs, verbose
        )

    return run


def _transliteration(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
    from .transliteration import LOCALES, METHODS, run_transliteration

    return run_transliteration(
        out,
        locales=locales or LOCALES,
        methods=methods or METHODS,
        seeds=seeds,
        epochs=epochs,
        subset=subset,
        verbose=verbose,
    )


def _cldc(out, *, seeds, methods=None, data_dir=None, subset=None, epochs=None, verbose=True, locales=None):
    """``locales``: SIB-200 languages, the first paired with each of the others, both ways."""
    from .cldc import LANGUAGES, METHODS, pairs_for, run_cldc

    return run_cldc(
        out,
        pairs=pairs_for(locales or LANGUAGES),
        languages=locales or LANGUAGES,
        methods=methods or METHODS,
        seeds=seeds,
        data_dir=data_dir,
        epochs=epochs,
        verbose=verbose,
    )


REGISTRY: dict[str, Run] = {
    "mnist-halves": _paper("mnist-halves"),
    "noisy-mnist": _paper("noisy-mnist"),
    "av-digits": _av_digits,
    "semi-paired": _semi_paired,
    "defaults": _defaults,
    "multi30k": _multi30k,
    "mnist-quadrants": _nview("mnist-quadrants"),
    "bridge": _nview("bridge"),
    "transliteration": _transliteration,
    "cldc": _cldc,
}
