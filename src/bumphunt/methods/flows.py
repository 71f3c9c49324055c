"""Conditional density of the features given the resonant mass: a normalizing flow built on zuko.

:class:`ConditionalFlow` learns ``p(x | m)`` on the sidebands and samples it at signal-region masses
(CATHODE). The features go through a fitted :mod:`~bumphunt.methods.preprocessing` chain (default:
each made normal through its smoothed distribution function, then standardized) before the flow; the
mass goes through a fixed map fitted at :meth:`~ConditionalFlow.fit` (default: log, then
standardization) and conditions every flow transform.
Samples are returned, and densities reported, in the original feature space:
:meth:`~ConditionalFlow.log_prob` adds the log-Jacobian of the preprocessing.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> m = rng.uniform(3000.0, 4000.0, 2000)
>>> x = rng.normal(m / 1000.0, 1.0)[:, None]
>>> flow = ConditionalFlow(kind="maf", max_epochs=3, seed=1).fit(x, m)
>>> flow.sample(5, 3500.0).shape
(5, 1)
"""

from __future__ import annotations

import copy
import logging
import math
import operator
from collections.abc import Sequence
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
import zuko
from sklearn.base import BaseEstimator, clone
from torch.nn import functional
from zuko.transforms import MonotonicRQSTransform, Transform

from bumphunt.errors import ConfigError, DataFormatError, NotFittedError
from bumphunt.methods._progress import ProgressCallback
from bumphunt.methods._torch import (
    EVAL_BATCH_SIZE,
    TrainingHistory,
    as_tensor,
    batched,
    resolve_device,
    seeded,
    train_with_early_stopping,
)
from bumphunt.methods._validation import as_matrix, event_weights
from bumphunt.methods.preprocessing import Chain, InvertibleTransform, Log, QuantileNormal, Standardize
from bumphunt.seeding import SeedLike, child_seeds, seed_sequence

__all__ = ["ConditionalFlow", "FlowKind", "FlowMixture", "LRSchedule", "default_preprocessing"]

logger = logging.getLogger(__name__)

#: ``"maf"``: masked autoregressive flow (affine); ``"nsf"``: neural spline flow (rational-quadratic).
FlowKind = Literal["maf", "nsf"]
#: ``"cosine"``: the rate anneals along a half cosine; ``"plateau"``: it decays when the loss stalls.
LRSchedule = Literal["cosine", "plateau"]


class _SplineTransform(MonotonicRQSTransform):
    """zuko's monotonic rational-quadratic spline, with the bin softmax written as ``exp / sum``.

    The same function of the same parameters as :class:`zuko.transforms.MonotonicRQSTransform` (the
    flows' log-densities agree to float32 rounding, ``tests/methods/test_flows.py``). PyTorch's CPU softmax
    over a last axis of a few bins costs about 8 times more than an exponential and a sum over it;
    it made up 45 % of a flow's forward pass on 25.7k events, which every validation epoch and every
    sample pays. No maximum needs subtracting before the exponential: zuko squashes each logit ``w``
    into ``w / (1 + |2 w / ln(slope)|)``, whose magnitude stays below ``|ln(slope)| / 2`` (3.5 for the
    default slope), so ``exp`` cannot overflow.
    """

    def __init__(
        self,
        widths: torch.Tensor,
        heights: torch.Tensor,
        derivatives: torch.Tensor,
        bound: float = 5.0,
        slope: float = 1e-3,
        **kwargs: object,
    ) -> None:
        Transform.__init__(self, **kwargs)
        log_slope = math.log(slope)
        widths = _softmax(widths / (1 + abs(2 * widths / log_slope)))
        heights = _softmax(heights / (1 + abs(2 * heights / log_slope)))
        derivatives = derivatives / (1 + abs(derivatives / log_slope))
        self.horizontal = bound * (2 * torch.cumsum(functional.pad(widths, (1, 0), value=0), dim=-1) - 1)
        self.vertical = bound * (2 * torch.cumsum(functional.pad(heights, (1, 0), value=0), dim=-1) - 1)
        self.derivatives = torch.exp(functional.pad(derivatives, (1, 1), value=0))


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis of logits bounded in magnitude (no overflow guard needed)."""
    weights = logits.exp()
    return weights / weights.sum(dim=-1, keepdim=True)


def _log_mean_exp(values: np.ndarray) -> np.ndarray:
    """``log(mean(exp(values), axis=0))`` computed without overflow: the log-density of an equal-weight
    mixture from its components' log-densities (one row each)."""
    top = values.max(axis=0)
    return top + np.log(np.exp(values - top).mean(axis=0))


def _component_rows(n_components: int, n: int, seed: SeedLike) -> list[np.ndarray]:
    """For ``n`` draws of an equal-weight mixture, the rows each component supplies (picked at random)."""
    pick = np.random.default_rng(seed).integers(n_components, size=n)
    return [np.flatnonzero(pick == k) for k in range(n_components)]


def default_preprocessing() -> Chain:
    """The features' preprocessing of :class:`ConditionalFlow` when none is given: each feature
    made normal through its smoothed distribution function, then standardized."""
    return Chain([QuantileNormal(), Standardize()])


def _default_mass_transform() -> InvertibleTransform:
    return Chain([Log(), Standardize()])


class ConditionalFlow(BaseEstimator):
    """Normalizing flow for ``p(x | m)``: features ``x`` conditioned on the resonant mass ``m`` (GeV).

    Parameters
    ----------
    kind
        ``"nsf"`` (zuko ``NSF``: monotonic rational-quadratic splines with ``bins`` bins) or ``"maf"``
        (zuko ``MAF``: affine autoregressive transforms, as in the CATHODE paper). The default is NSF:
        on the sidebands of generated QCD dijet events (51k events, 4 features, issue 13), trained
        with the default schedule, it reached a validation loss of 5.2764-5.2819 against 5.2887 for
        MAF, and the flow check (a classifier between flow samples and held-out sideband data) read
        AUC 0.4997-0.5057 (pulls -0.1 to 1.8 over 3 seeds) against 0.5199 (pull 6.3) for MAF.
    transforms
        Number of autoregressive transforms; successive ones alternate the feature order.
    hidden_features
        Hidden layer widths of each transform's conditioner network.
    bins
        Spline bins (``kind="nsf"`` only).
    max_epochs, batch_size, learning_rate, weight_decay, patience
        Training: Adam on the mean negative log-likelihood, at most ``max_epochs`` epochs, stopped
        after ``patience`` epochs without a lower validation loss; the parameters of the best epoch
        are restored.
    lr_schedule, cosine_epochs, min_steps
        ``"cosine"`` (default): the learning rate falls after every batch along a half cosine from
        ``learning_rate`` to 1 % of it over ``cosine_epochs`` epochs, or over as many epochs as make
        ``min_steps`` batches when the sample is small (never more than ``max_epochs``).
        ``"plateau"``: it is multiplied by ``lr_decay`` after ``lr_patience`` epochs without a lower
        validation loss (``lr_decay=None``: constant rate), up to ``max_epochs`` epochs. On the
        sidebands of the peer benchmark (issue 13: 25.7k training events per flow, 3 splits x 2
        flows) 16 cosine epochs reached the validation losses of the plateau schedule (within
        -0.0014 to +0.0007 nats per event), whose 22-34 epochs cost 1.6 times more, and the flow
        check read AUC 0.5070 against 0.5079 on average.
    lr_decay, lr_patience
        Of the ``"plateau"`` schedule. Large batches at a high starting rate that decays train 2-3
        times faster than batches of 256 at a constant 1e-3 and reach lower losses.
    validation_fraction
        Fraction of the events held out (at random) for early stopping.
    snapshots
        The flow is the equal-weight mixture of its parameters after the ``snapshots`` epochs of
        lowest validation loss (CATHODE's ensemble of epochs): each sample comes from one of them at
        random, and :meth:`log_prob` is the log of their mean density. It averages the training noise
        of the last epochs at no cost in training. On the sidebands of the peer benchmark (issue 13:
        3 splits x 2 flows on 25.7k events, the last 10 of 16 cosine epochs) the flow check read AUC
        0.5054 on average against 0.5071 for the best epoch alone, as low as a mixture of three flows
        trained with different seeds (0.5052, :class:`FlowMixture`). ``1``: the best epoch alone.
    preprocessing
        Transform of the features before the flow (fitted on the training events); default
        :func:`default_preprocessing`, ``Chain([QuantileNormal(), Standardize()])``. Its
        out-of-range policy governs :meth:`log_prob` of events outside the training range. The
        flow check (a classifier between samples and held-out sideband events) reads higher after
        it than after ``Chain([MinMaxLogit(alpha=1e-3), Standardize()])`` (CATHODE's): on the
        sidebands of the peer benchmark (issue 13, 3 splits x 2 flows on 25.7k events, 2026-12-04)
        AUC 0.5127 against 0.5071 on average, and single features 0.506-0.521 against 0.494-0.512
        (the interpolated distribution function hands the training events' fluctuations and its
        interpolation error to every sample). But the search is more sensitive after it: in the
        weak-supervision benchmark (3 seeds, 10.9k training events per flow, 10 snapshots) CATHODE's
        median max SIC was 5.12 against 3.99 at 1 % S/B and 6.84 against 5.74 at 2 % (the idealized
        detector's 5.78 and 7.09), and 8.09 against 7.91 at 5 %: what the min-max + logit flows get
        wrong lies closer to the signal, and CATHODE's classifier learns it.
    mass_transform
        Map of the mass to the flow's context (fitted on the training masses, then fixed); default
        ``Chain([Log(), Standardize()])``.
    mass_scaled
        Indices of features that scale with the resonant mass (jet masses, momenta: GeV). The flow
        models them divided by ``m`` (before the preprocessing) and samples are multiplied back, so
        what it learns of them is their shape in ``x / m``, which depends on ``m`` far less than
        ``x`` does; :meth:`log_prob` adds ``-log m`` per such feature. Masses must then be positive.
        On the sidebands of the peer benchmark (issue 13, ``mj_min`` and ``delta_mj`` scaled, 3
        splits x 2 flows on 25.7k events) the flow check's AUC fell from 0.5161 to 0.5117
        (:class:`~bumphunt.methods.detectors.Cathode` ``mass_scaled`` says what it does to a search).
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    seed
        Seed of the validation split, initialization, batch order and of the default sampling seeds.
    progress
        ``progress(epoch, max_epochs)`` after each training epoch.

    Attributes
    ----------
    flow_ : zuko.flows.Flow
        The trained flow at its best epoch (in the preprocessed space, on ``device_``).
    snapshots_ : list of zuko.flows.Flow
        The flow at each of the (at most ``snapshots``) epochs of lowest validation loss, best first
        (``snapshots_[0]`` is ``flow_``); samples and densities are those of their mixture.
    preprocessing_, mass_transform_ : InvertibleTransform
        The fitted transforms.
    history_ : TrainingHistory
        Losses per epoch and the epoch kept.
    train_index_, validation_index_ : numpy.ndarray
        Indices into the arrays given to :meth:`fit` of the events trained on and of those held out;
        with ``validation`` given, ``validation_index_`` counts on from ``len(X)`` through its events.
    """

    def __init__(
        self,
        kind: FlowKind = "nsf",
        *,
        transforms: int = 4,
        hidden_features: Sequence[int] = (64, 64),
        bins: int = 8,
        max_epochs: int = 100,
        batch_size: int = 2048,
        learning_rate: float = 3e-3,
        weight_decay: float = 0.0,
        patience: int = 6,
        lr_decay: float | None = 0.3,
        lr_patience: int = 2,
        lr_schedule: LRSchedule = "cosine",
        cosine_epochs: int = 16,
        min_steps: int = 200,
        validation_fraction: float = 0.2,
        snapshots: int = 10,
        preprocessing: InvertibleTransform | None = None,
        mass_transform: InvertibleTransform | None = None,
        mass_scaled: Sequence[int] = (),
        device: str = "auto",
        seed: SeedLike = 0,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.kind = kind
        self.transforms = transforms
        self.hidden_features = hidden_features
        self.bins = bins
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.lr_decay = lr_decay
        self.lr_patience = lr_patience
        self.lr_schedule = lr_schedule
        self.cosine_epochs = cosine_epochs
        self.min_steps = min_steps
        self.validation_fraction = validation_fraction
        self.snapshots = snapshots
        self.preprocessing = preprocessing
        self.mass_transform = mass_transform
        self.mass_scaled = mass_scaled
        self.device = device
        self.seed = seed
        self.progress = progress

    # ------------------------------------------------------------------------------------------ fit
    def fit(
        self,
        X: npt.ArrayLike,
        m: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
        *,
        validation: tuple[npt.ArrayLike, ...] | None = None,
    ) -> ConditionalFlow:
        """Learn ``p(x | m)`` from events ``X`` (``(n_events, n_features)``) at masses ``m`` (GeV).

        Parameters
        ----------
        X, m
            Training features and masses (for CATHODE: the sideband events).
        sample_weight
            Event weights in the likelihood, or ``None``.
        validation
            ``(X_val, m_val)`` or ``(X_val, m_val, weight_val)``: events for early stopping only. Then
            every event of ``X`` trains and ``validation_fraction`` is not used; otherwise a random
            ``validation_fraction`` of ``X`` is held out. The preprocessing is fitted on the training
            events only; validation events outside their range are clipped to it for their loss.

        Returns
        -------
        ConditionalFlow
            self

        Raises
        ------
        bumphunt.errors.ConfigError
            If a setting is out of range.
        bumphunt.errors.DataFormatError
            If shapes disagree, values are not finite, or there are too few events to split.
        """
        self._check_settings()
        matrix = as_matrix(X)
        masses = self._masses(m, len(matrix))
        weights = event_weights(sample_weight, len(matrix))
        self.mass_scaled_ = self._scaled_columns(matrix.shape[1])
        n = len(matrix)
        split_seed, init_seed, batch_seed, sample_seed = child_seeds(self.seed, 4)
        if validation is None:
            n_validation = round(self.validation_fraction * n)
            if n_validation < 1 or n - n_validation < 1:
                raise DataFormatError(
                    f"ConditionalFlow.fit got {n} events; validation_fraction={self.validation_fraction} "
                    "leaves no events for training or validation"
                )
            order = np.random.default_rng(split_seed).permutation(n)
            self.validation_index_ = np.sort(order[:n_validation])
            self.train_index_ = np.sort(order[n_validation:])
        else:
            if n < 1:
                raise DataFormatError("ConditionalFlow.fit got no training events")
            matrix, masses, weights = self._append_validation(matrix, masses, weights, validation)
            self.train_index_ = np.arange(n)
            self.validation_index_ = np.arange(n, len(matrix))
        matrix = self._divide_by_mass(matrix, masses)
        self.device_ = resolve_device(self.device)
        preprocessing = default_preprocessing() if self.preprocessing is None else self.preprocessing
        mass_transform = _default_mass_transform() if self.mass_transform is None else self.mass_transform
        # The preprocessing learns from the training events only: fitted on the validation events
        # too, a quantile transform passes their fluctuations on to the samples, which then resemble
        # those events more than new ones, and a flow check on them reads low (issue 13: checks of
        # single features read AUC 0.487-0.497, below what a perfect model gives). For their loss,
        # validation events are clipped to the training range.
        train = matrix[self.train_index_]
        self.preprocessing_ = clone(preprocessing).fit(train)
        low, high = train.min(axis=0), train.max(axis=0)
        self.mass_transform_ = clone(mass_transform).fit(masses[:, None])
        self.n_features_in_ = matrix.shape[1]
        with seeded(init_seed, self.device_):
            flow = self._build(matrix.shape[1]).to(self.device_)

        def per_event_loss(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return -flow(c).log_prob(x)

        kept: list[tuple[float, int, dict[str, torch.Tensor]]] = []  # (loss, epoch, parameters), best first

        def keep(epoch: int, validation_loss: float) -> None:
            if not math.isfinite(validation_loss):
                return
            if len(kept) < self.snapshots or validation_loss < kept[-1][0]:
                state = {key: value.detach().clone() for key, value in flow.state_dict().items()}
                kept.append((validation_loss, epoch, state))
                kept.sort(key=operator.itemgetter(0, 1))
                del kept[self.snapshots :]

        def tensors(index: np.ndarray) -> list[torch.Tensor]:
            return [
                as_tensor(self.preprocessing_.transform(np.clip(matrix[index], low, high)), self.device_),
                as_tensor(self.mass_transform_.transform(masses[index, None]), self.device_),
                as_tensor(weights[index], self.device_),
            ]

        self.history_: TrainingHistory = train_with_early_stopping(
            flow,
            per_event_loss,
            tensors(self.train_index_),
            tensors(self.validation_index_),
            max_epochs=self._epochs(len(self.train_index_)),
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            patience=self.patience,
            seed=batch_seed,
            lr_decay=self.lr_decay if self.lr_schedule == "plateau" else None,
            lr_patience=self.lr_patience,
            cosine=self.lr_schedule == "cosine",
            progress=self.progress,
            epoch_end=keep,
            name=f"ConditionalFlow({self.kind})",
        )
        self.flow_ = flow
        self.snapshots_ = [flow]
        for _, _, state in kept[1:]:
            snapshot = copy.deepcopy(flow)
            snapshot.load_state_dict(state)
            self.snapshots_.append(snapshot.eval())
        self._sample_seeds = seed_sequence(sample_seed)
        return self

    def _epochs(self, n_train: int) -> int:
        """Epochs to train: the cosine's length (``cosine_epochs``, or enough for ``min_steps``
        batches), or ``max_epochs`` on plateaus; never more than ``max_epochs``."""
        if self.lr_schedule == "plateau":
            return self.max_epochs
        batches = math.ceil(n_train / self.batch_size)
        return min(self.max_epochs, max(self.cosine_epochs, math.ceil(self.min_steps / batches)))

    def _append_validation(
        self,
        matrix: np.ndarray,
        masses: np.ndarray,
        weights: np.ndarray,
        validation: tuple[npt.ArrayLike, ...],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The training arrays followed by the validation events (checked like the training ones)."""
        if not isinstance(validation, tuple | list) or len(validation) not in (2, 3):
            raise ConfigError(
                "ConditionalFlow.fit validation must be (X_val, m_val) or (X_val, m_val, weight_val)"
            )
        x_val = as_matrix(validation[0])
        if x_val.shape[1] != matrix.shape[1] or len(x_val) < 1:
            raise DataFormatError(
                f"ConditionalFlow.fit validation X_val has shape {x_val.shape}; it needs at least one "
                f"event with the {matrix.shape[1]} features of X"
            )
        m_val = self._masses(validation[1], len(x_val))
        w_val = event_weights(validation[2] if len(validation) == 3 else None, len(x_val))
        return (
            np.concatenate([matrix, x_val]),
            np.concatenate([masses, m_val]),
            np.concatenate([weights, w_val]),
        )

    def _scaled_columns(self, n_features: int) -> np.ndarray:
        """``mass_scaled`` as sorted column indices, checked against the number of features."""
        try:
            columns = [operator.index(c) for c in self.mass_scaled]
        except TypeError:
            columns = None
        if (
            columns is None
            or any(not 0 <= c < n_features for c in columns)
            or len(set(columns)) != len(columns)
        ):
            raise ConfigError(
                f"ConditionalFlow mass_scaled must be distinct feature indices in [0, {n_features}), "
                f"got {self.mass_scaled!r}"
            )
        return np.array(sorted(columns), dtype=np.intp)

    def _divide_by_mass(self, matrix: np.ndarray, masses: np.ndarray) -> np.ndarray:
        """The features with the ``mass_scaled`` columns divided by the mass (a copy if any)."""
        columns = self.mass_scaled_
        if not len(columns):
            return matrix
        if np.any(masses <= 0):
            raise DataFormatError(
                f"ConditionalFlow mass_scaled={list(columns)} needs positive masses, got a minimum of "
                f"{masses.min():g} GeV"
            )
        scaled = matrix.copy()
        scaled[:, columns] /= masses[:, None]
        return scaled

    def _check_settings(self) -> None:
        if self.kind not in ("maf", "nsf"):
            raise ConfigError(f"ConditionalFlow kind must be 'maf' or 'nsf', got {self.kind!r}")
        if self.lr_schedule not in ("cosine", "plateau"):
            raise ConfigError(
                f"ConditionalFlow lr_schedule must be 'cosine' or 'plateau', got {self.lr_schedule!r}"
            )
        if not (isinstance(self.min_steps, int) and self.min_steps >= 0):
            raise ConfigError(
                f"ConditionalFlow min_steps must be a non-negative integer, got {self.min_steps!r}"
            )
        names = (
            "transforms",
            "bins",
            "max_epochs",
            "cosine_epochs",
            "batch_size",
            "patience",
            "lr_patience",
            "snapshots",
        )
        for name in names:
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"ConditionalFlow {name} must be a positive integer, got {value!r}")
        if self.lr_decay is not None and not 0 < self.lr_decay < 1:
            raise ConfigError(
                f"ConditionalFlow lr_decay must lie in (0, 1) or be None, got {self.lr_decay!r}"
            )
        if not 0 < self.validation_fraction < 1:
            raise ConfigError(
                f"ConditionalFlow validation_fraction must lie in (0, 1), got {self.validation_fraction!r}"
            )
        if not self.hidden_features or any(int(h) < 1 for h in self.hidden_features):
            raise ConfigError(
                f"ConditionalFlow hidden_features must be positive widths, got {self.hidden_features!r}"
            )

    def _build(self, n_features: int) -> zuko.flows.Flow:
        hidden = tuple(int(h) for h in self.hidden_features)
        if self.kind == "maf":
            return zuko.flows.MAF(n_features, 1, transforms=self.transforms, hidden_features=hidden)
        # zuko.flows.NSF is this MAF with zuko's spline; ours computes the same spline faster.
        return zuko.flows.MAF(
            n_features,
            1,
            transforms=self.transforms,
            hidden_features=hidden,
            univariate=partial(_SplineTransform, slope=1e-3),
            shapes=[(self.bins,), (self.bins,), (self.bins - 1,)],
        )

    # ------------------------------------------------------------------------------------- evaluate
    def _check_fitted(self) -> None:
        if not hasattr(self, "flow_"):
            raise NotFittedError("ConditionalFlow is not fitted; call fit(X, m) on the sideband events first")

    def _check_n_features(self, matrix: np.ndarray) -> None:
        if matrix.shape[1] != self.n_features_in_:
            raise DataFormatError(
                f"ConditionalFlow was fitted on {self.n_features_in_} features, got {matrix.shape[1]}"
            )

    @staticmethod
    def _masses(m: npt.ArrayLike, n: int) -> np.ndarray:
        masses = np.asarray(m, dtype=np.float64)
        if masses.ndim == 0:
            masses = np.full(n, float(masses))
        if masses.shape != (n,):
            raise DataFormatError(f"m must be one mass (GeV) or have shape ({n},), got shape {masses.shape}")
        if not np.all(np.isfinite(masses)):
            raise DataFormatError("m holds NaN/inf values")
        return masses

    def _context(self, masses: np.ndarray) -> torch.Tensor:
        return as_tensor(self.mass_transform_.transform(masses[:, None]), self.device_)

    def log_prob(self, X: npt.ArrayLike, m: npt.ArrayLike) -> np.ndarray:
        """``log p(x | m)`` in the original feature space, one value per event (float64).

        The density is per unit of each feature (for features in GeV: per GeV^k). Events outside the
        range the preprocessing was fitted on follow its out-of-range policy (default: raise
        :class:`~bumphunt.errors.OutOfRangeError`).
        """
        self._check_fitted()
        matrix = as_matrix(X)
        masses = self._masses(m, len(matrix))
        self._check_n_features(matrix)
        y, log_det = self.preprocessing_.transform_with_log_det(self._divide_by_mass(matrix, masses))
        if len(self.mass_scaled_):
            log_det = log_det - len(self.mass_scaled_) * np.log(masses)
        inputs = [as_tensor(y, self.device_), self._context(masses)]
        values = np.stack(
            [
                batched(lambda x, c, f=flow: f(c).log_prob(x), inputs).double().cpu().numpy()
                for flow in self.snapshots_
            ]
        )
        return _log_mean_exp(values) + log_det

    def sample(self, n: int, m: npt.ArrayLike, *, seed: SeedLike | None = None) -> np.ndarray:
        """Draw one event at each mass: ``n`` samples, shape ``(n, n_features)``, original feature space.

        Parameters
        ----------
        n
            Number of samples.
        m
            One mass for all samples or ``n`` masses (GeV).
        seed
            Seed of this draw. ``None``: the next seed of a stream derived from the flow's ``seed``, so
            the same sequence of calls gives the same samples.
        """
        self._check_fitted()
        if not (isinstance(n, int | np.integer) and n >= 0):
            raise ConfigError(f"n must be a non-negative integer, got {n!r}")
        masses = self._masses(m, int(n))
        draw_seed, pick_seed = child_seeds(self._sample_seeds.spawn(1)[0] if seed is None else seed, 2)
        y = np.zeros((int(n), self.n_features_in_))
        with seeded(draw_seed, self.device_):
            for flow, rows in zip(
                self.snapshots_, _component_rows(len(self.snapshots_), int(n), pick_seed), strict=True
            ):
                for i in range(0, len(rows), EVAL_BATCH_SIZE):
                    batch = rows[i : i + EVAL_BATCH_SIZE]
                    y[batch] = flow(self._context(masses[batch])).sample().double().cpu().numpy()
        x = self.preprocessing_.inverse_transform(y)
        x[:, self.mass_scaled_] *= masses[:, None]
        return x


class FlowMixture(BaseEstimator):
    """Equal-weight mixture of conditional flows trained alike on the same events with different seeds.

    Each member is a clone of ``flow`` with its own seed (initialization, batch order, validation
    split), so the members differ by their training noise, which the mixture averages out; what the
    events themselves get wrong (their finite number) is common to all members and stays. On the
    sidebands of the CATHODE peer benchmark (issue 13: 3 splits x 2 sideband groups, 25.7k training
    events per flow) three members brought the flow check's AUC from 0.5071 to 0.5052 on average, for
    three times the training and sampling time. It has the interface of :class:`ConditionalFlow` that
    :class:`~bumphunt.methods.detectors.Cathode` uses (``fit``, ``sample``, ``log_prob``).

    Parameters
    ----------
    flow
        Unfitted :class:`ConditionalFlow` every member clones; default ``ConditionalFlow()``.
    members
        Number of members (>= 1).
    seed
        Seed of the members' seeds and of the default sampling seeds.

    Attributes
    ----------
    flows_ : list of ConditionalFlow
        The fitted members.
    """

    def __init__(self, flow: ConditionalFlow | None = None, *, members: int = 3, seed: SeedLike = 0) -> None:
        self.flow = flow
        self.members = members
        self.seed = seed

    @property
    def device(self) -> str:
        """The members' device setting (``"auto"``, ``"cpu"`` or ``"cuda[:N]"``)."""
        return str((ConditionalFlow() if self.flow is None else self.flow).device)

    def fit(
        self,
        X: npt.ArrayLike,
        m: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
        *,
        validation: tuple[npt.ArrayLike, ...] | None = None,
    ) -> FlowMixture:
        """Fit every member on the same events as :meth:`ConditionalFlow.fit` does; returns self."""
        if not (isinstance(self.members, int) and not isinstance(self.members, bool) and self.members >= 1):
            raise ConfigError(f"FlowMixture members must be a positive integer, got {self.members!r}")
        base = ConditionalFlow() if self.flow is None else self.flow
        member_seeds, sample_seed = child_seeds(self.seed, 2)
        self.flows_ = [
            clone(base).set_params(seed=s).fit(X, m, sample_weight, validation=validation)
            for s in child_seeds(member_seeds, self.members)
        ]
        self._sample_seeds = seed_sequence(sample_seed)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "flows_"):
            raise NotFittedError("FlowMixture is not fitted; call fit(X, m) on the sideband events first")

    def log_prob(self, X: npt.ArrayLike, m: npt.ArrayLike) -> np.ndarray:
        """``log p(x | m)`` of the mixture: the log of the members' mean density, one value per event."""
        self._check_fitted()
        return _log_mean_exp(np.stack([flow.log_prob(X, m) for flow in self.flows_]))

    def sample(self, n: int, m: npt.ArrayLike, *, seed: SeedLike | None = None) -> np.ndarray:
        """One event at each mass, each from a member picked at random (as :meth:`ConditionalFlow.sample`)."""
        self._check_fitted()
        if not (isinstance(n, int | np.integer) and n >= 0):
            raise ConfigError(f"n must be a non-negative integer, got {n!r}")
        masses = ConditionalFlow._masses(m, int(n))
        pick_seed, *draw_seeds = child_seeds(
            self._sample_seeds.spawn(1)[0] if seed is None else seed, 1 + len(self.flows_)
        )
        out = np.empty((int(n), self.flows_[0].n_features_in_))
        rows_of = _component_rows(len(self.flows_), int(n), pick_seed)
        for flow, draw_seed, rows in zip(self.flows_, draw_seeds, rows_of, strict=True):
            out[rows] = flow.sample(len(rows), masses[rows], seed=draw_seed)
        return out
