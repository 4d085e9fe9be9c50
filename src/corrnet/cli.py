"""The ``corrnet`` command line: thin wrappers over the estimator, metrics and experiments.

Exit codes: 0 success, 1 runtime failure (e.g. training diverged), 2 bad usage or bad input.
"""

from __future__ import annotations

import json
import sys

import click


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=1, default=float))
        return
    width = max(len(k) for k in result)
    for k, v in result.items():
        click.echo(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="corrnet")
def main() -> None:
    """Correlational Neural Networks: common representations of two views."""


@main.command()
@click.option("--out", default="corrnet-report", show_default=True, help="Directory for index.html.")
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(1), help="Training epochs.")
@click.option("--components", default=20, show_default=True, type=click.IntRange(1), help="Hidden units.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def demo(out: str, epochs: int, components: int, seed: int, as_json: bool, quiet: bool) -> None:
    """Train on scikit-learn's digits (left half <-> right half) and write an HTML report."""
    from .experiments.demo import run_demo

    res = run_demo(out, epochs=epochs, n_components=components, seed=seed, verbose=0 if (quiet or as_json) else 1)
    _emit(res, as_json)


def run() -> None:  # pragma: no cover - python -m corrnet
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
