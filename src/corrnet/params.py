"""Every estimator parameter, written once: its name, default, allowed values and documentation.

- :class:`~corrnet.config.Config` (the model, objective and optimiser) is derived from the rows
  marked ``config=True``.
- :class:`~corrnet.CorrNet` and :class:`~corrnet.MultiViewCorrNet` take their ``__init__``
  signature, defaults and the Parameters section of their docstrings from the rows they use
  (:func:`estimator_parameters`), as scikit-learn reads them from the signature.
- A new parameter is one row here (and the code that uses it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
LOSSES = ("half_squared", "squared", "mse", "bce")
OPTIMIZERS = ("rmsprop_original", "rmsprop", "adam", "adamw", "sgd", "lbfgs")
LR_SCHEDULES = ("constant", "cosine")
FUSIONS = ("joint", "sum")
ENCODER_NORMS = (None, "layer", "batch")
CORRELATIONS = ("per_unit", "canonical")
INITS = ("original", "torch")
PASSES = ("both", "x", "y")  # two views: reconstruct both views from h(x,y), h(x,0), h(0,y)
# N views: from all views together, from each single view, from each pair of views
MULTIVIEW_PASSES = ("all", "single", "pairs")
# each validation metric early stopping can monitor, and the direction that is better
MONITORS = {"sum_corr": "max", "loss": "min", "generation": "min", "mrr": "max", "canon_corr": "max"}
ENGINES = ("auto", "autograd", "fused", "compile")
PRECISIONS = ("float32", "bfloat16")
UNPAIRED_STRATEGIES = ("auto", "pretrain", "alternate", "mixed")
_SAME = object()


@dataclass(frozen=True)
class Param:
    """One row of the table.

    ``hint`` is the annotation in the signatures; ``doc_type`` the numpydoc type; ``allowed`` the
    accepted values where they are a list; ``config``: a field of :class:`Config`, whose own
    default is ``config_default`` where the estimators' is ``"auto"`` (a module is built from
    resolved settings only); ``views``: ``"two"`` for :class:`CorrNet` only (semi-paired data,
    validation split); ``n_view_default``: :class:`MultiViewCorrNet`'s default, where it differs.
    """

    name: str
    default: Any
    hint: str
    doc_type: str
    doc: str
    allowed: tuple[Any, ...] | None = None
    config: bool = False
    config_default: Any = _SAME
    views: str = "any"
    n_view_default: Any = _SAME

    def default_for(self, n_views: bool) -> Any:
        return self.n_view_default if n_views and self.n_view_default is not _SAME else self.default

    def config_value(self) -> Any:
        return self.default if self.config_default is _SAME else self.config_default


PARAMS: tuple[Param, ...] = (
    Param(
        "n_components",
        50,
        "int",
        "int",
        "Width k of the common representation.",
        config=True,
    ),
    Param(
        "encoder_layers",
        "auto",
        "tuple[int, ...] | str",
        'tuple of int or "auto"',
        (
            "Hidden layer widths of each view's encoder before the joint layer (the decoders mirror them\n"
            "unless ``decoder_layers`` is set). Needs ``tied=False``. ``auto``: ``(256,)`` under the\n"
            "canonical objective (``correlation``) with untied decoders on dense views, else ``()``, the\n"
            "paper's single layer (on sparse views, a linear code straight from the input)."
        ),
        config=True,
        config_default=(),
        n_view_default=(),
    ),
    Param(
        "decoder_layers",
        None,
        "tuple[int, ...] | None",
        "tuple of int or None",
        (
            "Hidden layer widths of each view's decoder, from the code outwards (activation: as the\n"
            "encoder layers'). ``None``: the ``encoder_layers`` mirrored; ``()``: one linear map from the\n"
            "code. Hidden decoder layers need ``tied=False``."
        ),
        config=True,
    ),
    Param(
        "encoders",
        None,
        "list[torch.nn.Module | None] | None",
        "list of torch.nn.Module or None, one per view, or None",
        (
            "Your own encoder for a view (a CNN for images, a text model), in place of the built-in one:\n"
            "a module mapping a batch (B, d_v), float32, to (B, n_components), the view's contribution to\n"
            "the joint pre-activation, ``h = f(sum_v encoders[v](x_v) + b)``. It may reshape its input\n"
            "itself (e.g. to (B, 1, 28, 28)); a sparse view reaches it dense, batch by batch. A ``None``\n"
            "entry keeps the built-in encoder (``encoder_layers``...). ``fit`` trains a copy (the modules\n"
            "given are not changed) from the weights they hold (``random_state`` does not re-initialise\n"
            "them), with the autograd engine; ``tied`` must be False. ``save`` stores their weights and\n"
            "their classes' names; loading runs no code, so ``load`` takes the modules again, freshly\n"
            "built: ``CorrNet.load(path, encoders=[MyEncoder(), MyEncoder()])``."
        ),
    ),
    Param(
        "decoders",
        None,
        "list[torch.nn.Module | None] | None",
        "list of torch.nn.Module or None, one per view, or None",
        (
            "Your own decoder for a view: a module mapping codes (B, n_components) to (B, d_v), the\n"
            "pre-activation of ``output_activation``. ``None`` entries keep the built-in decoder. A\n"
            "custom decoder decodes every column of a sparse view (no error from its non-zeros alone).\n"
            "Trained, saved and loaded as ``encoders``."
        ),
    ),
    Param(
        "hidden_activation",
        "auto",
        "str",
        '{"auto", "sigmoid", "tanh", "relu", "linear"}',
        (
            "f, the joint layer's activation. ``auto``: ``linear`` under the canonical objective (the\n"
            "codes are then linear in the last encoder layer, as Deep CCA's), else ``sigmoid`` (the paper's)."
        ),
        allowed=(*ACTIVATIONS, "auto"),
        config=True,
        config_default="sigmoid",
        n_view_default="sigmoid",
    ),
    Param(
        "encoder_activation",
        "auto",
        "str | None",
        '{"auto", None, "sigmoid", "tanh", "relu", "linear"}',
        (
            "The activation of the ``encoder_layers`` (and of the decoders' mirrored hidden layers).\n"
            "``None``: ``hidden_activation``, the joint layer's. Needs ``encoder_layers``. ``auto``: ``relu``\n"
            "under the canonical objective, else ``None``; no encoder layers: ``None``."
        ),
        allowed=(None, *ACTIVATIONS, "auto"),
        config=True,
        config_default=None,
        n_view_default=None,
    ),
    Param(
        "encoder_norm",
        "auto",
        "str | None",
        '{"auto", None, "layer", "batch"}',
        (
            "``layer``: each encoder hidden layer is ``act(LayerNorm(W x + b))`` (parameter-free, per row,\n"
            "so it is the same in training and inference and for an absent view's zero row); the\n"
            "canonical objective's default. ``batch``: ``act(BatchNorm(W x + b))``,\n"
            "as Deep CCA's public re-implementations: statistics over the batch's rows in training, running\n"
            "averages in inference and for an absent view's zero row; not with row masks or data-parallel\n"
            "training. Needs ``encoder_layers``. ``auto``: ``layer`` under the canonical objective, else\n"
            "``None``; no encoder layers: ``None``."
        ),
        allowed=(*ENCODER_NORMS, "auto"),
        config=True,
        config_default=None,
        n_view_default=None,
    ),
    Param(
        "output_activation",
        "auto",
        "str",
        '{"auto", "sigmoid", "tanh", "relu", "linear"}',
        (
            "g, the decoders' activation. ``auto``: ``linear`` under the canonical objective when a view\n"
            "is sparse (a squared error is then computed from the non-zeros, without decoding every\n"
            "column), else ``sigmoid`` when both views (after scaling) lie in [0, 1], else ``linear`` (a\n"
            "sigmoid cannot reach standardised or unbounded values). The resolved value is in\n"
            "``output_activation_``."
        ),
        allowed=(*ACTIVATIONS, "auto"),
        config=True,
        config_default="sigmoid",
    ),
    Param(
        "tied",
        False,
        "bool",
        "bool",
        (
            "Decoder weights are the transposed encoder weights (the original code, and the ``paper``\n"
            "preset), with separate biases; needs the built-in layers."
        ),
        config=True,
    ),
    Param(
        "fusion",
        "joint",
        "str",
        '{"joint", "sum"}',
        (
            "``joint``: ``f(W x + V y + b)`` (the paper); ``sum``: ``f(W x + b_x) + f(V y + b_y)`` (the\n"
            "seed Keras blog's model)."
        ),
        allowed=FUSIONS,
        config=True,
    ),
    Param(
        "loss",
        "half_squared",
        "str",
        '{"half_squared", "squared", "mse", "bce"}',
        (
            "Per-row reconstruction error: ``sum (x - x_hat)^2 / 2`` (the original code), without the\n"
            "``/2`` (the paper), the mean over features (Keras), or summed binary cross-entropy."
        ),
        allowed=LOSSES,
        config=True,
    ),
    Param(
        "lam",
        "auto",
        "float | str",
        'float or "auto"',
        (
            "Weight of the correlation term: the objective is ``recon - lam * sum_j corr_j``. ``auto``:\n"
            "under the canonical objective 64 (the reconstruction only regularises the code).\n"
            "Under the per-unit one 2 (the paper's value), except in a full-batch L-BFGS fit\n"
            "(``optimizer_``) with validation rows and early stopping, where the model is fitted at\n"
            "``lam`` = 2 and 0.5 from the same initial weights; 0.5 is kept only if its validation MRR\n"
            "leads by more than one standard error of the per-row difference (another ``monitor``: the\n"
            "better mean; a tie keeps 2). Two fits; with checkpoint or log files, a third fit writes\n"
            "them. The resolved value is in ``config_.lam``, the scores in ``lam_scores_``."
        ),
        config=True,
        config_default=2.0,
    ),
    Param(
        "correlation",
        "auto",
        "str",
        '{"auto", "per_unit", "canonical"}',
        (
            "The correlation term. ``per_unit``: ``sum_j corr(h_j(x, 0), h_j(0, y))``, the paper's.\n"
            "``canonical``: the sum of the canonical correlations between the two single-view codes\n"
            "(Deep CCA's objective; float64 covariances with a ridge of 1e-3, batches of several\n"
            "hundred rows): units that repeat each other no longer count twice. Its codes match across\n"
            "views only up to a linear map, so ``fit`` ends with a linear CCA of the training rows'\n"
            "codes and ``transform`` returns the aligned (canonical) codes. Two views; autograd engine.\n"
            "``auto``: ``canonical`` for two views meeting in the joint layer (``fusion``), else\n"
            "``per_unit``. Under ``canonical`` the ``auto`` architecture and training settings take the\n"
            "values that suit it (dense views: one ReLU layer of 256 with LayerNorm into a linear code;\n"
            "sparse views: a linear code straight from the input and a linear output; lam = 64, batches\n"
            "of 800, Adam at 1e-3); ``correlation='per_unit'`` alone gives the paper's one sigmoid layer\n"
            "back."
        ),
        allowed=(*CORRELATIONS, "auto"),
        config=True,
        config_default="per_unit",
        n_view_default="per_unit",
    ),
    Param(
        "reconstruct_from",
        PASSES,
        "tuple[str, ...]",
        'tuple of {"both", "x", "y"} (two views) or of {"all", "single", "pairs"} (N views)',
        (
            "Which passes' reconstruction terms are used. Two views: from ``both``, from ``x`` alone, from\n"
            "``y`` alone (the original code's ablations). N views: ``all`` (the code from every present view),\n"
            "``single`` (one pass per view: the cross-reconstructions), ``pairs`` (one per pair of views:\n"
            "N (N - 1) / 2 more passes, quadratic in N, not the default)."
        ),
        allowed=PASSES + MULTIVIEW_PASSES,
        config=True,
        n_view_default=("all", "single"),
    ),
    Param(
        "corr_eps",
        1e-8,
        "float",
        "float",
        "Added inside each square root of the correlation's denominator (keeps constant units finite).",
        config=True,
    ),
    Param(
        "init",
        "auto",
        "str",
        '{"auto", "original", "torch"}',
        (
            "``original``: the Theano code's ``4 U(+-sqrt(6/(fan_in+fan_out)))`` for sigmoid layers\n"
            "(Glorot's for tanh and linear, He's ``U(+-sqrt(6/fan_in))`` for relu), biases 0. ``torch``:\n"
            "PyTorch's ``nn.Linear`` default, ``U(+-1/sqrt(fan_in))`` for weights and biases (the\n"
            "``seed_blog`` preset; under Adam its smaller weights move faster). ``auto``: ``torch`` under the\n"
            "canonical objective (Deep CCA's), else ``original``."
        ),
        allowed=(*INITS, "auto"),
        config=True,
        config_default="original",
        n_view_default="original",
    ),
    Param(
        "optimizer",
        "auto",
        "str",
        '{"auto", "adam", "lbfgs", "adamw", "rmsprop_original", "rmsprop", "sgd"}',
        (
            "``auto``: ``lbfgs`` when the training rows fit in one batch of at most 2 000 rows and\n"
            "1 000 000 values (rows x all views' columns, or a sparse view's non-zeros under a linear\n"
            "output and a squared loss; fully paired, in memory, one process,\n"
            "constant ``lr_schedule``, no ``weight_decay`` or ``reconstruction_samples``), else ``adam``; the\n"
            "choice is in ``optimizer_``. ``lbfgs``: full-batch L-BFGS with a strong-Wolfe line search\n"
            "(``lr`` and ``batch_size`` do not apply; each epoch is 10 iterations): exact correlations\n"
            "over all rows, in a fraction of minibatch Adam's time on small tables. ``rmsprop_original``\n"
            "is the original code's\n"
            "RMSprop (eps inside the sqrt, no momentum)."
        ),
        allowed=(*OPTIMIZERS, "auto"),
        config=True,
        config_default="adam",
    ),
    Param(
        "lr",
        "auto",
        "float | str",
        'float or "auto"',
        (
            "The first-order optimisers' step size (L-BFGS's line search sets its own). ``auto``:\n"
            "``1e-2 * min(1, 100 / m)``, m the largest column-mean mass ``sum_i |mean(x_i)|`` of a\n"
            "(scaled) training view: 1e-2 for standardised, sparse or [0, 1] views of modest mass (every\n"
            "defaults dataset, MNIST halves, text), less for un-centred wide views, whose shared drift\n"
            "of about ``lr * m`` per Adam step saturates sigmoid units (Noisy MNIST, m = 451: 2.2e-3).\n"
            "With ``encoder_layers`` the base is 6e-3 instead of 1e-2. Under the canonical objective:\n"
            "1e-3 (Deep CCA's). The resolved value is in ``config_.lr``."
        ),
        config=True,
        config_default=1e-2,
    ),
    Param(
        "lr_schedule",
        "constant",
        "str",
        '{"constant", "cosine"}',
        (
            "``cosine``: the learning rate falls from ``lr`` to 0 by half a cosine over the ``epochs`` x\n"
            "steps-per-epoch optimiser steps (the ``best`` preset's: it allows a 6x larger ``lr`` there).\n"
            "Early stopping or ``tol`` may end the run before the rate reaches 0."
        ),
        allowed=LR_SCHEDULES,
        config=True,
    ),
    Param(
        "weight_decay",
        0.0,
        "float",
        "float",
        (
            "L2 penalty on every weight, as the optimiser's ``weight_decay`` (decoupled for ``adamw``).\n"
            "0: none. Not with ``optimizer='lbfgs'`` (``optimizer='auto'`` then picks Adam)."
        ),
        config=True,
    ),
    Param(
        "reconstruction_samples",
        None,
        "int | None",
        "int or None",
        (
            "Sampled reconstruction of sparse views (after Dauphin, Glorot & Bengio 2011, as in Chandar et\n"
            "al. 2014's bilingual autoencoders): for a view given as ``scipy.sparse``, each training batch\n"
            "decodes only the columns that are non-zero in some row of the batch, plus\n"
            "``reconstruction_samples`` columns drawn uniformly from the others, whose error is scaled by\n"
            "(the number of others / ``reconstruction_samples``): an unbiased estimate of the error over all\n"
            "d columns. It pays where a batch touches a small part of a wide vocabulary (words) and the\n"
            "output is not linear (under a linear output and a squared loss the exact error is computed\n"
            "from the non-zeros without it, and costs less; the sampled estimate replaces it when set); fully\n"
            "paired training batches only (single-view rows, masked batches, validation and data-parallel\n"
            "runs reconstruct every column); the autograd engine. None: every column."
        ),
        config=True,
    ),
    Param(
        "batch_size",
        "auto",
        "int | str",
        'int or "auto"',
        (
            "Rows per minibatch step (full-batch L-BFGS takes every row). ``auto``: 800 under the\n"
            "canonical objective, whose whitening needs covariances over many more rows than units\n"
            "(Deep CCA's batches), else 100 (the paper's)."
        ),
        config=True,
        config_default=100,
        n_view_default=100,
    ),
    Param(
        "epochs",
        "auto",
        "int | str",
        'int or "auto"',
        (
            "The most epochs to run. ``auto``: under L-BFGS, 20 epochs (200 iterations); otherwise\n"
            "enough for 10 000 optimiser steps, at least 10 and at most 5 000 epochs (MNIST's 50 000\n"
            "rows: 20 epochs of 500 steps); under the canonical objective 10 epochs and at least 300\n"
            "steps (Deep CCA's recipe: MNIST's 45 000 rows, 560 steps of 800). The convergence check\n"
            "(``tol``) and early stopping may stop earlier. The resolved value is in ``epochs_``."
        ),
        config=True,
        config_default=50,
    ),
    Param(
        "min_steps",
        None,
        "int | None",
        "int or None",
        (
            "Under a minibatch optimiser, a fixed ``epochs`` is raised to give at least this many\n"
            "optimiser steps (``ceil(min_steps / steps per epoch)`` epochs): a recipe sized in epochs\n"
            "for tens of thousands of rows then still trains on a small table (the ``canonical``\n"
            "preset's 300: unchanged from 24 000 rows up, 150 epochs on 1 000 rows). ``None``: ``epochs``\n"
            'as given. Ignored under L-BFGS and with ``epochs="auto"`` (already sized in steps);\n'
            "``from_preset(name, epochs=...)`` drops the preset's ``min_steps``."
        ),
        config=True,
    ),
    Param(
        "tol",
        1e-4,
        "float | None",
        "float or None",
        (
            "Convergence: training stops when the epoch's training loss has not improved on the best so\n"
            "far by ``tol * max(1, |best|)`` for ``n_iter_no_change`` epochs (at least 500 steps' worth\n"
            "of epochs). ``None`` runs exactly ``epochs`` epochs. When a fixed number of epochs runs out\n"
            'before convergence, ``fit`` warns with a ``ConvergenceWarning``; with ``epochs="auto"`` it\n'
            "warns only if the loss was still falling (the last quarter of the epochs brought more than\n"
            "5 % of the run's whole decrease), and never under L-BFGS, whose ``auto`` budget stops it on\n"
            "purpose (longer runs over-fitted small tables on validation)."
        ),
    ),
    Param(
        "n_iter_no_change",
        10,
        "int",
        "int",
        (
            "Epochs without an improvement of the training loss by ``tol`` before training stops as\n"
            "converged (raised to cover at least 500 optimiser steps under minibatch training)."
        ),
    ),
    Param(
        "shuffle",
        True,
        "bool",
        "bool",
        "Visit rows in a new random order each epoch (the original code does not: ``paper`` preset).",
        config=True,
    ),
    Param(
        "scale",
        "auto",
        "str | None",
        '{"auto", None, "standard", "minmax"}',
        (
            "Per-feature scaling fitted on the training rows of each view (paired and unpaired), undone\n"
            "on reconstructions and saved with the model. ``auto``: a view whose values all lie in\n"
            "[0, 1] (pixels, spectrograms scaled to [0, 1]) is left alone; a dense view whose columns\n"
            "share one range (at least 8 varying columns, half of them reaching the view's maximum\n"
            "and half its minimum: pixels at 0-255) is mapped to [0, 1] as a whole, one affine map for\n"
            "every column; any other view is standardised (zero mean, unit variance; constant\n"
            "columns are left at scale 1)."
        ),
        allowed=("auto", None, "none", "standard", "minmax"),
    ),
    Param(
        "validation_fraction",
        "auto",
        "float | str | None",
        'float, "auto" or None',
        (
            "Hold out this fraction of the paired training rows (the last rows, no shuffling) for\n"
            "validation metrics in ``history_`` and early stopping. ``auto``: 10 % of them (at most\n"
            "5 000), drawn at random (seeded by an integer ``random_state``, else 0), when there are at\n"
            "least 500 paired rows in memory; fewer rows, or views memory-mapped from disk, hold out\n"
            "nothing. ``None`` holds out nothing. Ignored when ``fit`` gets ``validation_data``."
        ),
        views="two",
    ),
    Param(
        "early_stopping",
        "auto",
        "bool | str",
        'bool or "auto"',
        (
            "Stop when the monitored validation metric has not improved for ``patience`` epochs and keep\n"
            "the best epoch's weights. ``auto``: whenever there are validation rows (``validation_data``\n"
            "or ``validation_fraction``)."
        ),
        allowed=(True, False, "auto"),
    ),
    Param(
        "patience",
        "auto",
        "int | str",
        'int or "auto"',
        (
            "Epochs without improvement before early stopping. ``auto``: 3 epochs, and under a minibatch\n"
            "optimiser at least 500 steps' worth (1 000 rows in batches of 100: 50 epochs; MNIST's 45 000: 3);\n"
            "under full-batch L-BFGS 10 epochs, half its budget (each epoch is one pass over the data)."
        ),
    ),
    Param(
        "monitor",
        "auto",
        "str",
        '{"auto", "mrr", "canon_corr", "sum_corr", "loss", "generation"}',
        (
            "The validation metric early stopping watches. ``mrr``: cross-view retrieval of the\n"
            "single-view codes (mean reciprocal rank by cosine, both ways); ``canon_corr``: the sum of\n"
            "the canonical correlations between the two views' codes; both on the first 1 000 validation\n"
            "rows, and both see units that merely repeat each other, which ``sum_corr`` (the per-unit\n"
            "correlations the objective raises) counts again. ``auto``: ``canon_corr`` under the canonical\n"
            "objective (its codes are aligned across views only after training), else ``mrr`` (the\n"
            "codes' retrieval can peak early and fall while the correlations keep rising)."
        ),
        allowed=(*MONITORS, "auto"),
    ),
    Param(
        "random_state",
        None,
        "Any",
        "int, RandomState or None",
        "Seeds initial weights and shuffling. Same seed, data and device give identical weights.",
    ),
    Param(
        "device",
        "auto",
        "str",
        "str",
        '``"auto"`` uses CUDA when available, else the CPU.',
    ),
    Param(
        "engine",
        "auto",
        "str",
        '{"auto", "autograd", "fused", "compile"}',
        (
            "How gradients are computed; all give the same loss and gradients (tested). ``auto``:\n"
            "``compile`` for runs of at least 20 000 optimiser steps (where the ~8 s of compilation pays\n"
            'off; ``epochs="auto"`` runs stay below that), ``fused`` for shorter ones, ``autograd``\n'
            'where the fused path does not apply (deep encoders, ``fusion="sum"``, bfloat16); the\n'
            "choice is in ``engine_``. ``compile``\n"
            "(hand-derived gradients under ``torch.compile``) is the fastest for long runs, after a few\n"
            "seconds of compilation; ``fused`` applies to\n"
            "single-layer joint models and falls back to autograd elsewhere."
        ),
        allowed=ENGINES,
    ),
    Param(
        "precision",
        "float32",
        "str",
        '{"float32", "bfloat16"}',
        (
            "``bfloat16``: the matrix products take bfloat16 operands and accumulate in float32; the\n"
            "activations, the correlation, the loss, the weights and the optimiser stay float32. The fused\n"
            "engine rounds the operands itself (the loss within 1 % of float32's, the gradients within\n"
            "3 % with smooth units): 1.2-1.45x faster an epoch on a CPU with AVX512-BF16 at MNIST halves'\n"
            "shapes, slower on one without bfloat16 instructions. Other models train under\n"
            "``torch.autocast``."
        ),
        allowed=PRECISIONS,
    ),
    Param(
        "unpaired_strategy",
        "auto",
        "str",
        '{"auto", "pretrain", "alternate", "mixed"}',
        (
            "How rows with one view (``fit(..., X_unpaired=, Y_unpaired=)``) are used. ``auto``:\n"
            "``mixed`` when fewer than 5 % of the rows are paired, else ``pretrain`` (the chosen one is\n"
            "in ``unpaired_strategy_``). ``pretrain``:\n"
            "``pretrain_epochs`` epochs of self-reconstruction on every row's views (paired and unpaired),\n"
            "then the full objective on the paired rows with a fresh optimiser. ``alternate``: every epoch\n"
            "also visits single-view batches, interleaved with the paired batches. ``mixed``: every batch\n"
            "holds ``paired_per_batch`` paired rows plus single-view rows. Single-view rows only ever\n"
            "contribute ``unpaired_weight`` times their self-reconstruction error: never to the\n"
            "correlation or the cross-reconstruction terms."
        ),
        allowed=UNPAIRED_STRATEGIES,
        views="two",
    ),
    Param(
        "unpaired_weight",
        0.1,
        "float",
        "float",
        (
            "Weight of the single-view rows' self-reconstruction error under ``alternate`` and ``mixed``\n"
            "(``pretrain`` does not weight them). Below 1 the single-view rows, which may be most of the\n"
            "data, do not pull the codes away from the correlation."
        ),
        views="two",
    ),
    Param(
        "pretrain_epochs",
        2,
        "int",
        "int",
        (
            "Epochs of self-reconstruction on every row's own views (paired and single-view) before the\n"
            "paired training, under ``unpaired_strategy='pretrain'``; the optimiser starts afresh after."
        ),
        views="two",
    ),
    Param(
        "paired_per_batch",
        None,
        "int | None",
        "int",
        "Paired rows per mixed batch (default ``batch_size // 2``); the correlation is computed on them.",
        views="two",
    ),
    Param(
        "verbose",
        0,
        "int",
        "int",
        "0: silent; 1: a progress bar per fit.",
    ),
)
BY_NAME = {p.name: p for p in PARAMS}


def estimator_parameters(n_views: bool) -> list[Param]:
    """The rows of :class:`CorrNet` (``n_views=False``) or :class:`MultiViewCorrNet` (True)."""
    return [p for p in PARAMS if p.views == "any" or not n_views]


def _numpydoc(p: Param, n_views: bool) -> str:
    default = p.default_for(n_views)
    shown = "optional" if default is None and p.name != "random_state" else f"default={default!r}"
    text = "\n".join("    " + line if line else "" for line in p.doc.splitlines())
    return f"{p.name} : {p.doc_type}, {shown}" + (f"\n{text}" if text else "")


def with_parameters(n_views: bool) -> Callable[[type], type]:
    """Class decorator: the estimator's ``__init__`` (first parameter positional, the rest keyword
    only; each stored unchanged as an attribute, scikit-learn's contract) and the ``{parameters}``
    placeholder of its docstring, both from the table."""
    rows = estimator_parameters(n_views)
    kinds = [inspect.Parameter.POSITIONAL_OR_KEYWORD] + [inspect.Parameter.KEYWORD_ONLY] * (len(rows) - 1)
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(p.name, k, default=p.default_for(n_views), annotation=p.hint) for p, k in zip(rows, kinds)
        ],
        return_annotation="None",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]  # what sklearn's get_params reads
    docs = "\n".join(_numpydoc(p, n_views) for p in rows)

    def decorate(cls: type) -> type:
        __init__.__qualname__ = f"{cls.__name__}.__init__"
        cls.__init__ = __init__  # type: ignore[misc]
        cls.__doc__ = (cls.__doc__ or "").replace("{parameters}", docs.replace("\n", "\n    "))
        return cls

    return decorate
