"""``MultiViewCorrNet``: CorrNet over N views with per-row masks (Bridge CorrNet is a mask pattern)."""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from . import auto, training
from .base import FitInputs, _CorrNetBase
from .data import check_view, to_tensor, zero_rows
from .objective import correlation
from .params import PASSES, with_parameters
from .plans import Plan, Source
from .runfiles import RunFiles


@with_parameters(n_views=True)
class MultiViewCorrNet(_CorrNetBase, auto_wrap_output_keys=None):
    """Correlational Neural Network over N >= 2 views, some possibly absent from some rows.

    ``h(x_1, ..., x_N) = f(sum_i W_i x_i + b)``; the objective reconstructs every view from each
    single view and from all present views together (``reconstruct_from``), minus ``lam`` times the
    sum over view pairs of the per-unit correlations of the single-view codes, each computed on the
    rows that have both views. A row's absent views never enter a correlation or a reconstruction
    target; a row with one view contributes that view's self-reconstruction. Two views and no masks
    train exactly like :class:`CorrNet` (same seed, same weights).

    Bridge CorrNet (Rajendran et al., NAACL 2016) is a mask pattern: views 1 and 2 are each paired
    only with a pivot view 0, never with each other; ``transform([x1, None, None])`` and
    ``transform([None, x2, None])`` then live in one space.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    model_ : CorrNetModule
    n_views_ : int
    n_features_in_ : int                      total width of all views
    n_features_views_ : list of int           width of each view
    scalers_ : list of StandardScaler or None each view's scaling, fitted on the rows that have it
    history_, n_iter_, stop_reason_, best_epoch_, config_, lam_scores_, engine_, output_activation_, epochs_ :
        as in :class:`CorrNet`.
    """

    @classmethod
    def _preset_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """The presets' two-view passes (``both``, ``x``, ``y``) are N views' ``all`` and ``single``."""
        if tuple(params.get("reconstruct_from", ())) == PASSES:
            params = {**params, "reconstruct_from": ("all", "single")}
        return params

    # -- input checks --------------------------------------------------------------------------
    def _check_views(
        self, Xs: Any, masks: Any = None, *, fitting: bool = False, allow_none: bool = False
    ) -> tuple[list[np.ndarray | None], np.ndarray | None]:
        """Validate a list of views (rows aligned) and optional masks -> (views, (n, N) mask or None)."""
        if not isinstance(Xs, (list, tuple)) or len(Xs) < 2:
            raise ValueError("Xs must be a list of at least two views (arrays of shape (n_rows, d_i)), one per view.")
        if not fitting and len(Xs) != self.n_views_:
            raise ValueError(f"this model has {self.n_views_} views; pass a list of {self.n_views_} (None for absent).")
        views: list[np.ndarray | None] = []
        for i, A in enumerate(Xs):
            if A is None:
                if not allow_none:
                    raise ValueError(f"view {i} is None; fit needs every view (mark absent rows with masks).")
                views.append(None)
                continue
            d = None if fitting else self.n_features_views_[i]
            views.append(check_view(A, f"Xs[{i}]", n_features=d, min_rows=2 if fitting else 1, allow_1d=True))
        given = [v for v in views if v is not None]
        if not given:
            raise ValueError("pass at least one view (the others may be None).")
        n = given[0].shape[0]
        if any(v.shape[0] != n for v in given):
            raise ValueError(
                f"the views have different numbers of rows {[v.shape[0] for v in given]}; rows must align."
            )
        mask = None
        if masks is not None:
            if len(masks) != len(views):
                raise ValueError(f"masks has {len(masks)} entries for {len(views)} views; pass one (n_rows,) per view.")
            mask = np.stack([np.ones(n, bool) if m is None else np.asarray(m) for m in masks], axis=1)
            if mask.dtype != bool or mask.shape[0] != n:
                raise ValueError(f"each mask must be a boolean array of shape ({n},), True where the row has the view.")
            if not mask.any(axis=1).all():
                raise ValueError(f"{int((~mask.any(axis=1)).sum())} rows have no view at all; drop them.")
        return views, mask

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        Xs: list[Any],
        y: None = None,
        *,
        masks: list[Any] | None = None,
        validation_data: list[Any] | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        log_dir: str | os.PathLike | None = None,
        distributed: bool = False,
    ) -> MultiViewCorrNet:
        """Fit on N views.

        Parameters
        ----------
        Xs : list of N array-likes of shape (n_rows, d_i); row r of every view is the same item.
        y : ignored (scikit-learn convention).
        masks : list of N boolean arrays (n_rows,) or None entries, optional
            True where the row has that view (None: every row has it). Values of absent rows are
            ignored (they may be anything finite, e.g. zeros).
        validation_data : list of N fully paired arrays, optional (validation metrics, early stopping).
        checkpoint_dir, checkpoint_every, resume, log_dir, distributed : as in :meth:`CorrNet.fit`
            (data parallel: every process passes the same views and masks; the correlation of each
            view pair is the global batch's, over the rows that have both views).

        Returns
        -------
        self : MultiViewCorrNet
            The fitted estimator (``model_``, ``config_``, ``history_``, ``scalers_`` ...).

        Raises
        ------
        ValueError
            Invalid parameters or data, masks of the wrong shape, or no pair of views sharing 2 rows.
        corrnet.training.DivergenceError
            The loss became non-finite (the model is rolled back to the last finite epoch).

        Warns
        -----
        corrnet.diagnostics.FitWarning
            A fitted model that is likely poor, with its likely cause and fix (``diagnostics_``).
        """
        config = self.config()
        views, mask = self._check_views(Xs, masks, fitting=True)
        dist = self._dist(distributed)
        if dist is not None:
            n_masked = -1 if mask is None else int(mask.sum())
            dist.check_same(
                "the shapes of the views and masks", (views[0].shape[0], *[v.shape[1] for v in views], n_masked)
            )
        world = 1 if dist is None else dist.world_size
        config = auto.choose_optimizer(config, views, dist is None)
        batch = self._batch(config, views[0].shape[0]) * world
        self._set_widths([v.shape[1] for v in views])
        has = self._present_rows(views[0].shape[0], mask)
        self._fit_scalers([v[h] for v, h in zip(views, has)])
        views = [zero_rows(self._scale(v, sc), h) for v, sc, h in zip(views, self.scalers_, has)]
        device = self._device()
        val = None if validation_data is None else self._validation(self._check_views(validation_data)[0], device)
        source = Source(
            [to_tensor(v, device) for v in views], None if mask is None else torch.from_numpy(mask).to(device)
        )
        fit = FitInputs(
            dims=self.n_features_views_,
            plan=Plan([source], batch, config.shuffle),
            steps_per_epoch=len(training.batch_starts(views[0].shape[0], batch)),
            val=val,
            resolve_views=[v[h] for v, h in zip(views, has)],  # "auto" output: the present rows' values
            files=RunFiles(checkpoint_dir, checkpoint_every, resume, log_dir),
            dist=dist,
        )
        self._fit_views(config, views, fit)
        return self

    def _present_rows(self, n_rows: int, mask: np.ndarray | None) -> list[np.ndarray]:
        """Per view, which rows have it (n_rows,); checks that some pair of views shares 2 rows."""
        if mask is not None:  # a pair without shared rows adds no correlation (Bridge: views 1 and 2)
            if not any(
                (mask[:, i] & mask[:, j]).sum() >= 2 for i, j in itertools.combinations(range(self.n_views_), 2)
            ):
                raise ValueError("no pair of views shares 2 rows: the correlation term needs rows with two views.")
        return [np.ones(n_rows, bool) if mask is None else mask[:, i] for i in range(self.n_views_)]

    def _set_widths(self, widths: list[int]) -> None:
        self.n_views_, self.n_features_views_ = len(widths), [int(d) for d in widths]
        self.n_features_in_ = int(sum(self.n_features_views_))

    # -- inference -----------------------------------------------------------------------------
    def _tensors(self, Xs: Any) -> list[torch.Tensor | None]:
        check_is_fitted(self, "model_")
        views, _ = self._check_views(Xs, allow_none=True)
        dev = next(self.model_.parameters()).device
        return [None if v is None else to_tensor(self._scale(v, sc), dev)[:] for v, sc in zip(views, self.scalers_)]

    def transform(self, Xs: list[Any]) -> np.ndarray:
        """Common representation from the given views: ``transform([x1, None, None])`` is the code
        from view 1 alone.

        Parameters
        ----------
        Xs : list of N array-likes of shape (n_rows, d_i), or None for an absent view (fed as zeros)

        Returns
        -------
        ndarray of shape (n_rows, n_components), float32

        Raises
        ------
        ValueError
            Not N entries, no view given, a view of another width than in ``fit``, invalid values
            (NaN, infinity, non-numeric) or views with different numbers of rows.
        """
        xs = self._tensors(Xs)
        with torch.inference_mode():
            return self.model_.represent(xs).float().cpu().numpy()

    def generate(self, Xs: list[Any], view: int) -> np.ndarray:
        """View ``view`` decoded from the code of the given views, in that view's own units.

        Parameters
        ----------
        Xs : list of N array-likes or None, as for :meth:`transform`
        view : int
            The view to generate, ``0 <= view < n_views_``.

        Returns
        -------
        ndarray of shape (n_rows, d_view), float32

        Raises
        ------
        ValueError
            ``view`` is out of range, or the views are invalid (as :meth:`transform`).
        """
        if not 0 <= view < self.n_views_:
            raise ValueError(f"view={view} is out of range for {self.n_views_} views.")
        xs = self._tensors(Xs)
        with torch.inference_mode():
            (out,) = self.model_.decode_pre(self.model_.encode(xs), views=[view])
            out = self.model_.g(out)
        return self._unscale(view, out)

    def correlations(self, Xs: list[Any]) -> np.ndarray:
        """Per-unit correlation of the single-view codes for every pair of views.

        Parameters
        ----------
        Xs : list of N array-likes of shape (n_rows, d_i), every view given, fully paired rows (at least 2)

        Returns
        -------
        ndarray of shape (n_pairs, n_components), float64
            Pairs ``(0, 1), (0, 2), ..., (N - 2, N - 1)`` in order.

        Raises
        ------
        ValueError
            A view is missing, there are fewer than 2 rows, or a view is invalid.
        """
        xs = self._tensors(Xs)
        if any(x is None for x in xs) or xs[0].shape[0] < 2:
            raise ValueError("correlations needs every view with at least 2 rows.")
        with torch.inference_mode():
            hs = [
                self.model_.represent([x if j == i else None for j, x in enumerate(xs)]).double().cpu()
                for i in range(len(xs))
            ]
        pairs = itertools.combinations(range(len(xs)), 2)
        return np.stack([correlation(hs[i], hs[j], 1e-12).numpy() for i, j in pairs])

    def score(self, Xs: list[Any], y: None = None) -> float:
        """Sum over view pairs and units of :meth:`correlations` (higher is better).

        Parameters
        ----------
        Xs : list of N array-likes, as for :meth:`correlations`
        y : ignored (scikit-learn convention)

        Returns
        -------
        float
        """
        return float(np.nansum(self.correlations(Xs)))
