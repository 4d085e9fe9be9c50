"""The ``corrnet`` command line: thin wrappers over the estimator, metrics, reports and experiments.

Exit codes: 0 success; 1 training failed (diverged); 2 bad usage or bad input (files, widths,
values, model directories); 130 interrupted.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import click

from .config import PRESETS
from .datasets import NAMES as DATASETS
from .experiments import REGISTRY as EXPERIMENTS  # names -> runs; their modules load on use
from .params import BY_NAME


class CorrnetGroup(click.Group):
    """Turns expected errors into one clear line and a meaningful exit code, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from .persistence import ModelFormatError
        from .training import DivergenceError

        try:
            return super().invoke(ctx)
        except DivergenceError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(1)
        except (ValueError, FileNotFoundError, ModelFormatError, ConnectionError) as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:  # click would print "Aborted!" and exit 1; the README promises 130
            click.echo("interrupted", err=True)
            ctx.exit(130)


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=1, default=float))
        return
    width = max(len(k) for k in result)
    for k, v in result.items():
        click.echo(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")


def _views(x: str | None, y: str | None, dataset: str | None, split: str, data_dir: str | None, mmap: bool = False):
    """(X, Y, labels, the loaded MultiViewData or None) from files or a named dataset split; ``mmap``:
    .npy files are memory-mapped (training streams them from disk)."""
    if dataset:
        from .datasets import load_dataset

        d = load_dataset(dataset, data_dir)
        return getattr(d, f"X_{split}"), getattr(d, f"Y_{split}"), getattr(d, f"y_{split}"), d
    from .io import read_array

    return (read_array(x, mmap) if x else None), (read_array(y, mmap) if y else None), None, None


def _parse_set(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in pairs:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        k, v = item.split("=", 1)
        if v.strip() in ("none", "None"):  # JSON spells it null; Python users write None
            out[k.strip()] = None
            continue
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


@click.group(cls=CorrnetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="corrnet")
def main() -> None:
    """Correlational Neural Networks: common representations of two views.

    Views are .npy, .npz (file.npz:NAME), .csv or .parquet files with one row per item; row i of
    X pairs with row i of Y. Or name a dataset: digits-halves (bundled), mnist-halves, noisy-mnist
    (MNIST IDX files from $CORRNET_DATA or ../shared/data/mnist).
    """


view_options = [
    click.option("--x", "x", type=click.Path(dir_okay=False), help="View 1 file."),
    click.option("--y", "y", type=click.Path(dir_okay=False), help="View 2 file."),
    click.option("--dataset", type=click.Choice(DATASETS), help="A named dataset instead of files."),
    click.option(
        "--split",
        type=click.Choice(("train", "val", "test")),
        default="test",
        show_default=True,
        help="Which split of --dataset.",
    ),
    click.option("--data-dir", type=click.Path(file_okay=False), help="Where the MNIST files are."),
]


def with_views(f):
    for opt in reversed(view_options):
        f = opt(f)
    return f


@main.command()
@click.option("--x", "x", type=click.Path(dir_okay=False), help="View 1 training file.")
@click.option("--y", "y", type=click.Path(dir_okay=False), help="View 2 training file.")
@click.option("--dataset", type=click.Choice(DATASETS), help="Train on a named dataset's train split.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where the MNIST files are.")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option(
    "--preset",
    type=click.Choice(tuple(PRESETS)),
    default="default",
    show_default=True,
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML/JSON/YAML file of parameters.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Any CorrNet parameter, e.g. --set lam=4.")
@click.option(
    "--epochs", type=click.IntRange(0), help="The most epochs [auto: from the data's size; stops on convergence]."
)
@click.option("--components", type=click.IntRange(1), help="Width of the common code.")
@click.option(
    "--scale",
    type=click.Choice(("auto", "none", "standard", "minmax")),
    help="Per-feature scaling [the preset's; default auto: views in [0, 1] as they are, others standardised].",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--validation-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True))
@click.option("--checkpoint-dir", type=click.Path(file_okay=False), help="Write a checkpoint each epoch.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in --checkpoint-dir.")
@click.option("--log-dir", type=click.Path(file_okay=False), help="history.csv (+ TensorBoard if installed).")
@click.option("--x-unpaired", type=click.Path(dir_okay=False), help="Rows that have view 1 only (semi-paired).")
@click.option("--y-unpaired", type=click.Path(dir_okay=False), help="Rows that have view 2 only (semi-paired).")
@click.option("--device", default=BY_NAME["device"].default, show_default=True)
@click.option(
    "--nproc",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Data-parallel worker processes on this machine (torchrun's launcher; batch_size is per process).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def train(
    x,
    y,
    dataset,
    data_dir,
    out,
    preset,
    config_file,
    sets,
    epochs,
    components,
    scale,
    seed,
    validation_fraction,
    checkpoint_dir,
    resume,
    log_dir,
    x_unpaired,
    y_unpaired,
    device,
    nproc,
    quiet,
    as_json,
) -> None:
    """Fit CorrNet on two views and write a model directory.

    Two .npy or .parquet views are streamed from disk a chunk at a time (.npy memory-mapped, parquet
    by row groups: files larger than memory train in flat memory); other formats are loaded.

    ``--nproc N`` trains on N local processes (data parallel, exact correlation); under ``torchrun``
    (``torchrun --nproc-per-node N -m corrnet train ...``) every process joins the job it started."""
    from .estimator import CorrNet

    if not dataset and not (x and y):
        raise click.UsageError("give both --x and --y, or --dataset.")
    if nproc > 1 and "WORLD_SIZE" not in os.environ:
        _launch(nproc)
        return
    distributed = _join_process_group(device)
    preset, params = _train_params(
        config_file, preset, sets, scale,
        {"epochs": epochs, "n_components": components, "validation_fraction": validation_fraction},
        random_state=seed, device=device, verbose=0 if (quiet or as_json) else 1,
    )
    est = CorrNet.from_preset(preset, **params)
    X, Y, _, data = _views(x, y, dataset, "train", data_dir, mmap=True)
    validation = None
    if data is not None and validation_fraction is None:
        validation = (data.X_val, data.Y_val)
    t0 = time.perf_counter()
    caught = _fit_recording_warnings(
        est, X, Y, validation_data=validation, checkpoint_dir=checkpoint_dir, resume=resume, log_dir=log_dir,
        x_unpaired=x_unpaired, y_unpaired=y_unpaired, distributed=distributed,
    )
    if distributed and _leave_process_group() != 0:  # rank 0 alone writes the model and reports
        return
    est.save(out)
    _train_summary(est, out, time.perf_counter() - t0, caught, as_json)


def _join_process_group(device: str) -> bool:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1), join its process group; True when distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    import torch.distributed as dist

    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return True


def _leave_process_group() -> int:
    """Leave the process group; this process's rank in it."""
    import torch.distributed as dist

    rank = dist.get_rank()
    dist.destroy_process_group()
    return rank


def _fit_recording_warnings(est: Any, X: Any, Y: Any, x_unpaired: str | None, y_unpaired: str | None,
                            **fit_kwargs: Any) -> list:
    """Fit ``est`` (the single-view rows read from their files); return the warnings it raised, for
    the summary to print."""
    from .io import read_array

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(
            X,
            Y,
            X_unpaired=read_array(x_unpaired) if x_unpaired else None,
            Y_unpaired=read_array(y_unpaired) if y_unpaired else None,
            **fit_kwargs,
        )
    return caught


def _train_params(
    config_file: str | None, preset: str, sets: tuple[str, ...], scale: str | None, options: dict[str, Any],
    **fixed: Any,
) -> tuple[str, dict[str, Any]]:
    """(the preset, the CorrNet parameters) of ``corrnet train``: the config file, then ``--set``,
    then the options given, then ``fixed``; an unknown parameter is an error."""
    from .estimator import CorrNet
    from .io import read_config

    params: dict[str, Any] = {}
    if config_file:
        params.update(read_config(config_file))
    preset = params.pop("preset", preset)
    params.update(_parse_set(sets))
    if scale is not None:
        params["scale"] = None if scale == "none" else scale
    params.update({key: val for key, val in options.items() if val is not None})
    params.update(fixed)
    unknown = set(params) - set(CorrNet().get_params())
    if unknown:
        raise ValueError(
            f"unknown parameters {sorted(unknown)}; see `python -c 'import corrnet; help(corrnet.CorrNet)'`."
        )
    return preset, params


def _train_summary(est: Any, out: str, seconds: float, caught: list, as_json: bool) -> None:
    """The fit's own warnings (convergence, a fit that looks broken), one line each on stderr, and
    the summary: the last epoch's terms, and the whole fit's wall time ``time_s`` (not the last
    epoch's, which it printed before: 0.0009 s after a 100 s run)."""
    said = list(dict.fromkeys(f"{type(w.message).__name__}: {w.message}" for w in caught if _ours(w)))
    for line in said if not as_json else ():  # with --json they are in the JSON
        click.echo(f"warning: {line}", err=True)
    last = est.history_[-1] if est.history_ else {}
    summary = {"model": str(out), "epochs": est.n_epochs_, "stop_reason": est.stop_reason_}
    summary.update({k: v for k, v in last.items() if k not in ("epoch", "time_s")})
    summary.update({"time_s": seconds, "last_epoch_s": last.get("time_s")})
    if as_json:
        summary["warnings"] = said
    _emit(summary, as_json)


def _launch(nproc: int) -> None:
    """Run this same command in ``nproc`` local processes with torchrun's launcher (standalone rendezvous)."""
    from torch.distributed.run import main as torchrun

    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            args.append(a)
    try:
        torchrun(["--standalone", "--nproc-per-node", str(nproc), "--module", "corrnet", *args])
    except Exception as e:  # torchrun's ChildFailedError names the failed rank and its error
        raise click.ClickException(f"a worker process failed: {e}") from e


def _ours(w: warnings.WarningMessage) -> bool:
    """Warnings corrnet issues about a fit (not library deprecation noise)."""
    from sklearn.exceptions import ConvergenceWarning

    from .diagnostics import FitWarning

    return issubclass(w.category, (FitWarning, ConvergenceWarning))


def _model(path: str, device: str | None = None):
    from .estimator import CorrNet

    return CorrNet.load(path, device=device)


@main.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@with_views
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help=".npy, .npz or .csv to write.")
def transform(model, x, y, dataset, split, data_dir, out) -> None:
    """Codes from view 1 (--x), view 2 (--y) or both."""
    from .io import write_array

    X, Y, _, _ = _views(x, y, dataset, split, data_dir)
    if X is None and Y is None:
        raise click.UsageError("give --x, --y or both (or --dataset).")
    H = _model(model).transform(X=X, Y=Y)
    write_array(out, H)
    click.echo(f"wrote codes {H.shape} to {out}", err=True)


@main.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.option("--x", "x", type=click.Path(dir_okay=False), help="Generate view 2 from this view-1 file.")
@click.option("--y", "y", type=click.Path(dir_okay=False), help="Generate view 1 from this view-2 file.")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help=".npy, .npz or .csv to write.")
def generate(model, x, y, out) -> None:
    """The missing view: --x gives generated view 2, --y gives generated view 1."""
    from .io import read_array, write_array

    if (x is None) == (y is None):
        raise click.UsageError("give exactly one of --x or --y.")
    est = _model(model)
    G = est.generate(X=read_array(x)) if x else est.generate(Y=read_array(y))
    write_array(out, G)
    click.echo(f"wrote generated view {G.shape} to {out}", err=True)


def _evaluate(est, X, Y, labels) -> dict[str, float]:
    from . import metrics

    H1, H2 = est.transform(X=X), est.transform(Y=Y)
    res = metrics.evaluate_codes(H1, H2, labels)
    res["generation_mse_y_from_x"] = metrics.generation_mse(Y, est.generate(X=X))
    res["generation_mse_x_from_y"] = metrics.generation_mse(X, est.generate(Y=Y))
    return res


@main.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@with_views
@click.option("--labels", type=click.Path(dir_okay=False), help="Class labels (for transfer accuracy).")
@click.option("--json", "as_json", is_flag=True)
def evaluate(model, x, y, dataset, split, data_dir, labels, as_json) -> None:
    """All metrics on paired views: correlations, transfer accuracy, retrieval, generation error."""
    from .io import read_array

    X, Y, lab, _ = _views(x, y, dataset, split, data_dir)
    if X is None or Y is None:
        raise click.UsageError("evaluate needs both views: --x and --y, or --dataset.")
    if labels:
        lab = read_array(labels).ravel()
    _emit(_evaluate(_model(model), X, Y, lab), as_json)


@main.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@with_views
@click.option("--labels", type=click.Path(dir_okay=False), help="Class labels (colours, transfer accuracy).")
@click.option("--image-shape", nargs=4, type=int, help="H_X W_X H_Y W_Y: draw the views as images.")
@click.option("--out", "-o", default="corrnet-report", show_default=True, type=click.Path(file_okay=False))
def report(model, x, y, dataset, split, data_dir, labels, image_shape, out) -> None:
    """HTML report of a trained model on paired data."""
    from . import report as rep
    from .io import read_array

    X, Y, lab, data = _views(x, y, dataset, split, data_dir)
    if X is None or Y is None:
        raise click.UsageError("report needs both views: --x and --y, or --dataset.")
    if labels:
        lab = read_array(labels).ravel()
    est = _model(model)
    res = _evaluate(est, X, Y, lab)
    sections: list[tuple[str, Any]] = [("Metrics", [{"metric": k, "value": v} for k, v in res.items()])]
    if est.history_:
        sections.append(("Training curves", rep.fig_training_curves(est.history_, est.best_epoch_)))
    shapes = None
    if image_shape:
        shapes = (tuple(image_shape[:2]), tuple(image_shape[2:]))
    elif data is not None:
        shapes = (data.shape_x, data.shape_y)
    if shapes and shapes[0][0] == shapes[1][0] and dataset != "noisy-mnist":
        sections.append(
            (
                "Generated halves",
                rep.fig_generation_grid(X, Y, est.generate(Y=Y), est.generate(X=X), shapes[0], shapes[1], n=12),
            )
        )
    elif shapes:
        sections.append(
            ("Generated views", rep.fig_image_grid([("X", X), ("X from Y", est.generate(Y=Y))], shapes[0], n=12))
        )
    sections.append(("Per-unit correlation", rep.fig_unit_correlations(est.correlations(X, Y))))
    if lab is not None:
        sections.append(("Codes", rep.fig_embedding(est.transform(X=X)[:2000], est.transform(Y=Y)[:2000], lab[:2000])))
    path = rep.write_report(Path(out) / "index.html", f"corrnet report: {model}", sections)
    click.echo(str(path))


@main.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True)
def info(model, as_json) -> None:
    """Summary of a model directory: architecture, parameters, training, versions."""
    from .persistence import read_meta

    meta = read_meta(model)
    est = _model(model, device="cpu")
    n_params = sum(p.numel() for p in est.model_.parameters())
    p = meta["params"]
    used = meta.get("config") or p  # the settings the model was trained with ("auto" ones resolved)
    res = {
        "model": model,
        "format_version": meta["format_version"],
        **{f"{k}_version": v for k, v in meta["versions"].items()},
        "view_widths": list(est.model_.dims),
        **({"d_x": est.model_.dims[0], "d_y": est.model_.dims[1]} if len(est.model_.dims) == 2 else {}),
        "n_components": p["n_components"],
        "encoder_layers": p["encoder_layers"],
        "decoder_layers": p.get("decoder_layers"),
        "tied": p["tied"],
        "fusion": p["fusion"],
        "loss": p["loss"],
        "lam": used["lam"],
        "optimizer": used["optimizer"],
        "lr": used["lr"],
        **({"lam_scores": dict(meta["lam_scores"])} if meta.get("lam_scores") else {}),
        "parameters": n_params,
        "epochs_run": meta["n_epochs_"],
    }
    if meta["history"]:
        res["final_sum_corr_train"] = meta["history"][-1]["sum_corr"]
    res.update({f"metric_{k}": v for k, v in meta.get("metrics", {}).items()})
    _emit(res, as_json)


@main.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Directory for the .onnx files.")
def export(model, out) -> None:
    """ONNX graphs of the encoders and the decoder (encode_x, encode_y, encode_xy, decode)."""
    from .export import export_onnx

    for name, path in export_onnx(_model(model, device="cpu"), out).items():
        click.echo(f"{name}: {path}")


@main.command()
@click.option("--out", default="corrnet-report", show_default=True, help="Directory for index.html.")
@click.option("--epochs", type=click.IntRange(1), help="The most epochs [auto].")
@click.option("--components", default=20, show_default=True, type=click.IntRange(1), help="Hidden units.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="A named preset's settings [the defaults].")
def demo(out: str, epochs: int | None, components: int, seed: int, as_json: bool, quiet: bool, preset) -> None:
    """Train on scikit-learn's digits (left half <-> right half) and write an HTML report."""
    from .experiments.demo import run_demo

    res = run_demo(
        out,
        epochs=epochs or "auto",
        n_components=components,
        seed=seed,
        verbose=0 if (quiet or as_json) else 1,
        preset=preset,
    )
    _emit(res, as_json)


@main.command()
@click.argument("name", type=click.Choice(tuple(EXPERIMENTS)))
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Results directory [results/NAME].")
@click.option("--seeds", default="0,1,2", show_default=True, help="Comma-separated seeds.")
@click.option("--epochs", type=click.IntRange(1), help="Override the epochs of every neural model (smoke runs).")
@click.option("--subset", type=click.IntRange(100), help="Use only the first N rows of each split (smoke runs).")
@click.option("--methods", default=None, help="Comma-separated subset of methods to run.")
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option(
    "--locales",
    "--languages",
    "locales",
    default=None,
    help="transliteration: CLDR locales [ru,el,hi,ar,ko]; cldc: SIB-200 languages, the first paired with "
    "each other one both ways [eng_Latn,deu_Latn,fra_Latn]. Comma-separated.",
)
@click.option("--quiet", "-q", is_flag=True)
def experiment(name, out, seeds, epochs, subset, methods, data_dir, locales, quiet) -> None:
    """Reproduce a results table: CorrNet (paper recipe and best) next to the baselines.

    ``multi30k``: English-German caption retrieval from sparse TF-IDF views (CorrNet, SVD + CCA,
    random). ``mnist-quadrants``: four views, MultiViewCorrNet vs MAXVAR generalised CCA. ``bridge``:
    left and right halves never paired, each paired with a pivot view. ``transliteration``: are two
    names in two scripts the same name (CLDR names via babel; CorrNet, CCA, romanisation, random)?
    ``cldc``: cross-language topic classification on SIB-200 (a classifier trained on one
    language's codes, tested on another's; CorrNet, SVD + CCA, Deep CCA, no adaptation, majority,
    the in-language upper bound; --methods corrnet-multi,gcca-multi add the other --languages as
    more views).
    ``defaults``: CorrNet() with
    no settings vs tuned, corrnet 0.1's defaults, CCA and kernel CCA on six datasets at their
    published scale (--methods picks methods)."""
    res = EXPERIMENTS[name](
        out or f"results/{name}",
        seeds=tuple(int(s) for s in seeds.split(",") if s.strip()),
        methods=tuple(methods.split(",")) if methods else None,
        data_dir=data_dir,
        subset=subset,
        epochs=epochs,
        verbose=not quiet,
        locales=tuple(locales.split(",")) if locales else None,
    )
    click.echo(res["markdown"])
    click.echo(f"\nwrote {out or f'results/{name}'}/: results.md, results.csv, results.json, index.html", err=True)


@main.command()
@click.option(
    "--tier",
    type=click.Choice(("quick", "full")),
    default="quick",
    show_default=True,
    help="quick: small tables (about 1.5 minutes); full: every task and method.",
)
@click.option("--tasks", default=None, help="Comma-separated subset of tasks [the tier's].")
@click.option("--methods", default=None, help="Comma-separated subset of methods [the tier's].")
@click.option("--seeds", default="0,1,2", show_default=True, help="Comma-separated model seeds.")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Results directory [results/quality-TIER].")
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, exists=True),
    help="A recorded table: exit 1 if any row falls below it by more than its allowance.",
)
@click.option("--record", "record_file", type=click.Path(dir_okay=False), help="Write the table to check against.")
@click.option(
    "--jobs",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Worker processes, one torch thread each, one (task, method) at a time.",
)
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--quiet", "-q", is_flag=True)
def bench(tier, tasks, methods, seeds, out, check_file, record_file, jobs, data_dir, quiet) -> None:
    """The quality gate: every method on every dataset of the tier, 3 seeds, one table.

    Scores are on each task's test split (transfer accuracy; recall@1 for CLDR names and Multi30k;
    cross-language classification accuracy for SIB-200). --check compares with a recorded table
    and fails (exit 1) when a row's mean falls below its record by more than max(2 sd, 2 points,
    2 test rows), or is not measured."""
    from .experiments import quality

    res = quality.run_quality(
        out or f"results/quality-{tier}",
        tier=tier,
        tasks=tuple(tasks.split(",")) if tasks else None,
        methods=tuple(methods.split(",")) if methods else None,
        seeds=tuple(int(x) for x in seeds.split(",") if x.strip()),
        data_dir=data_dir,
        verbose=not quiet,
        jobs=jobs,
    )
    click.echo(res["markdown"])
    if record_file:
        quality.write_record(record_file, res["rows"], tier)
        click.echo(f"recorded {len(res['rows'])} rows in {record_file}", err=True)
    if check_file:
        failures = quality.check(res["rows"], quality.read_record(check_file))
        for line in failures:
            click.echo(f"REGRESSION {line}", err=True)
        if failures:
            sys.exit(1)
        click.echo(f"no row below {check_file} by more than its allowance", err=True)


def run() -> None:
    """Console entry point: Ctrl-C exits with 130 instead of a traceback.

    On the way out every object is frozen (``gc.freeze``), so the interpreter's shutdown skips its
    full garbage collections over torch's, SciPy's and pandas' objects: 1.3 s of a 1.7 s exit,
    measured on a 2-core machine. By then every file the command
    writes is closed (they are written atomically); nothing corrnet holds needs a collector-run
    finaliser.
    """
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        gc.freeze()
