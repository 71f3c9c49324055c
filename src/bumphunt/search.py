"""One search from a configuration: data, windows, detector, selection, significance, result.

:func:`run_search` is what ``bumphunt run`` does before writing the results directory
(:func:`bumphunt.results.write_results`):

1. :func:`load_data` reads the events (and a background-only sample for the IAD), keeps the mass range,
   and injects signal when the configuration asks for it (:func:`inject_signal`).
2. :func:`build_windows` turns the window settings into :class:`~bumphunt.events.Window` objects and
   :func:`check_windows` rejects windows outside the data before any training.
3. In each window the detector (:func:`build_detector`) is trained; every SR event gets an out-of-fold
   score and every sideband event a score from a model that never saw it.
4. The scores are cut at fixed sideband efficiencies; the background in the SR comes from a fit of the
   selected sidebands, and the excess gets a local significance
   (:func:`~bumphunt.stats.selection.selection_scan`).
5. The largest local significance over windows and efficiencies is corrected for the look-elsewhere
   effect with background-only toys (:func:`~bumphunt.stats.look_elsewhere.uniform_score_statistic`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bumphunt import __version__
from bumphunt.config import (
    DIMUON_FEATURES,
    DataConfig,
    MethodConfig,
    SearchConfig,
    StatisticsConfig,
    WindowsConfig,
)
from bumphunt.errors import BumphuntError, ConfigError, DataFormatError
from bumphunt.events import EventSet, Window, concatenate
from bumphunt.stats.fit import fit_background
from bumphunt.stats.look_elsewhere import (
    GlobalSignificance,
    global_significance,
    uniform_score_statistic,
    with_excursion_tail,
)
from bumphunt.stats.metrics import auc, max_sic
from bumphunt.stats.selection import SelectionScan, selection_scan
from bumphunt.stats.shapes import get_shape
from bumphunt.stats.windows import sliding_windows
from bumphunt.summary import SUMMARY_SCHEMA_VERSION, Summary

if TYPE_CHECKING:
    from bumphunt.methods.base import Detector

__all__ = [
    "SUMMARY_SCHEMA_VERSION",
    "LoadedData",
    "SearchResult",
    "WindowResult",
    "build_detector",
    "build_windows",
    "check_windows",
    "inject_signal",
    "load_data",
    "load_sample",
    "run_search",
]

logger = logging.getLogger(__name__)


#: ``progress(stage, done, total)``: stage is ``"windows"``, ``"training"`` or ``"toys"``.
SearchProgress = Callable[[str, int, int], None]


# ----------------------------------------------------------------------------------------- data


def _features(data: DataConfig, nanoaod: bool) -> tuple[str, ...]:
    """The configured features; the dimuon kinematics for NanoAOD when none are configured."""
    return DIMUON_FEATURES if nanoaod and "features" not in data.model_fields_set else data.features


def _is_nanoaod(data: DataConfig, path: str | Path) -> bool:
    if data.format != "auto":
        return data.format == "nanoaod"
    text = str(path)
    if glob.has_magic(text):
        return text.endswith(".root")
    from bumphunt.io.auto import detect_layout

    return detect_layout(path, key=data.key).layout == "nanoaod"


def _select(events: EventSet, data: DataConfig, what: str, features: tuple[str, ...]) -> EventSet:
    """Keep the configured features and mass range of one sample."""
    missing = [f for f in features if f not in events.feature_names]
    if missing:
        raise DataFormatError(
            f"{what} {events.source}: feature(s) {missing} named in data.features are not in the file; "
            f"it has {list(events.feature_names)}"
        )
    events = events.with_features(features)
    if data.mass_range is not None:
        events = events.in_mass(data.mass_range)
    return events


@dataclasses.dataclass(frozen=True)
class LoadedData:
    """The events of a search.

    Attributes
    ----------
    events
        The data searched (with signal injected when configured), mass range and features applied.
    background
        The separate background-only sample (IAD), or None.
    injection
        What was injected (S/B, reference SR, signal count, seed, signal mass), or None.
    spectrum
        Masses (GeV) of every data event before the mass range, for the mass-only scan (NanoAOD data),
        or None.
    """

    events: EventSet
    background: EventSet | None
    injection: dict[str, Any] | None
    spectrum: np.ndarray | None = None


def inject_signal(
    background: EventSet, signal: EventSet, *, s_over_b: float, sr: tuple[float, float], seed: int
) -> tuple[EventSet, dict[str, Any]]:
    """Add signal events to background-only events at ``s_over_b`` in the signal region ``sr`` (GeV).

    The number of signal events is chosen so that the expected number inside ``sr`` is ``s_over_b``
    times the background events there; they are drawn without replacement from ``signal``. Labels are
    0 for background and 1 for signal.

    Raises
    ------
    ConfigError
        If the signal sample is too small for the asked S/B or has no event in ``sr``.
    """
    low, high = sr
    n_bkg_sr = int(np.count_nonzero((background.mass >= low) & (background.mass < high)))
    in_sr = (signal.mass >= low) & (signal.mass < high)
    if not np.any(in_sr):
        raise ConfigError(
            f"data.injection: the signal sample {signal.source} has no event in the SR {list(sr)}"
        )
    fraction = float(np.mean(in_sr))
    n_signal = round(s_over_b * n_bkg_sr / fraction)
    if n_signal > len(signal):
        raise ConfigError(
            f"data.injection: S/B = {s_over_b:g} needs {n_signal} signal events, the signal sample "
            f"{signal.source} has {len(signal)}"
        )
    rng = np.random.default_rng(seed)
    chosen = signal.take(np.sort(rng.choice(len(signal), size=n_signal, replace=False)))
    labelled = [
        EventSet(e.mass, e.features, e.feature_names, np.full(len(e), value), e.weight, e.provenance)
        for e, value in ((background, 0), (chosen, 1))
    ]
    events = concatenate(labelled)
    record = {
        "s_over_b": s_over_b,
        "sr": [low, high],
        "seed": seed,
        "n_signal": n_signal,
        "n_signal_sr": int(np.count_nonzero((chosen.mass >= low) & (chosen.mass < high))),
        "n_background_sr": n_bkg_sr,
        "signal_source": signal.source,
        "signal_mass": float(np.median(signal.mass)),
    }
    events = EventSet(
        events.mass,
        events.features,
        events.feature_names,
        events.label,
        events.weight,
        {**dict(background.provenance), "injection": record},
    )
    return events, record


def load_sample(data: DataConfig, path: str | Path, what: str, *, labels: bool = True) -> EventSet:
    """Read one sample as the data settings say (format, key, columns), with their features and range.

    ``what`` names the setting the path came from, for error messages (e.g. ``"data.background"``).
    """
    events, features = _read_sample(data, path, labels=labels)
    return _select(events, data, what, features)


def _read_sample(data: DataConfig, path: str | Path, *, labels: bool) -> tuple[EventSet, tuple[str, ...]]:
    """A sample as read, before features and mass range are applied, and the features to keep."""
    from bumphunt.io.auto import read_events

    if _is_nanoaod(data, path):
        from bumphunt.io.nanoaod import read_dimuon_candidates

        features = _features(data, nanoaod=True)
        events = read_dimuon_candidates(
            str(path), data.dimuon.selection(), features=features, tree=data.dimuon.tree
        )
        return events, features
    events = read_events(
        path,
        format=data.format,
        key=data.key,
        mass_column=data.mass_column,
        label_column=data.label_column if labels else None,
        features=data.features,
    )
    return events, data.features


def _spread_atoms(
    events: EventSet, background: EventSet | None, seed: int
) -> tuple[EventSet, EventSet | None]:
    """``data.spread_atoms``: the same atoms spread in the data and in the background sample."""
    from bumphunt.methods.preprocessing import spread_atoms

    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5A7]))
    features, atoms = spread_atoms(events.features, events.feature_names, rng)
    record = [dataclasses.asdict(a) for a in atoms]
    if atoms:
        logger.info(
            "spread atoms: %s", ", ".join(f"{a.feature} at {a.value:g} ({a.fraction:.1%})" for a in atoms)
        )
    events = dataclasses.replace(
        events, features=features, provenance={**events.provenance, "spread_atoms": record}
    )
    if background is not None:
        spread, _ = spread_atoms(background.features, background.feature_names, rng, atoms=atoms)
        background = dataclasses.replace(
            background, features=spread, provenance={**background.provenance, "spread_atoms": record}
        )
    return events, background


def load_data(config: SearchConfig) -> LoadedData:
    """Read the data (and background sample), keep features and mass range, inject signal."""
    data = config.data
    read, features = _read_sample(data, data.path, labels=True)
    spectrum = read.mass if read.provenance.get("format") == "nanoaod" else None
    events = _select(read, data, "data.path", features)
    injection = None
    if data.injection is not None:
        inj = data.injection
        if events.label is not None and np.any(events.label == 1):
            raise DataFormatError(
                f"data.path {events.source}: holds signal events (label 1); inject only into background"
            )
        signal = load_sample(data, inj.signal, "data.injection.signal")
        sr = inj.sr if inj.sr is not None else config.windows.sr
        assert sr is not None  # the configuration validator guarantees it
        events, injection = inject_signal(events, signal, s_over_b=inj.s_over_b, sr=sr, seed=inj.seed)
    background = None
    if data.background is not None:
        background = load_sample(data, data.background, "data.background", labels=False)
    if data.spread_atoms:
        events, background = _spread_atoms(events, background, config.method.seed)
    if config.method.name == "supervised" and events.label is None:
        raise ConfigError(
            f"method 'supervised' needs truth labels; {events.source} has none "
            "(set data.label_column or inject signal)"
        )
    return LoadedData(events=events, background=background, injection=injection, spectrum=spectrum)


# -------------------------------------------------------------------------------------- windows


def build_windows(config: WindowsConfig, mass_range: tuple[float, float] | None = None) -> list[Window]:
    """The windows of the configuration (one, or a sliding scan).

    ``mass_range`` (GeV, ``data.mass_range``) bounds the sidebands of one SR with
    ``sideband_mode: range``; the configuration's validation makes sure it is given there.
    """
    if config.scan is not None:
        scan = config.scan
        return sliding_windows(
            scan.start,
            scan.stop,
            sr_width=scan.sr_width,
            sb_width=config.sideband_width,
            step=scan.step,
            sidebands=config.sideband_mode,
        )
    assert config.sr is not None
    if config.sidebands is not None:
        (lo_a, lo_b), (hi_a, hi_b) = config.sidebands
        return [Window(sr=config.sr, sb=((lo_a, lo_b), (hi_a, hi_b)))]
    if config.sideband_mode == "range":
        if mass_range is None:
            raise ConfigError("windows.sideband_mode 'range' with one SR needs data.mass_range")
        return [Window.from_edges(mass_range[0], config.sr[0], config.sr[1], mass_range[1])]
    return [Window.around(config.sr, config.sideband_width)]


def check_windows(
    windows: list[Window],
    events: EventSet,
    *,
    mass_range: tuple[float, float] | None = None,
    tolerance: float = 0.0,
    statistics: StatisticsConfig | None = None,
) -> None:
    """Reject windows that reach outside the data's mass range, or whose sidebands hold too few events
    for the background model, before any work.

    Parameters
    ----------
    windows
        The windows of the search.
    events
        The data.
    mass_range
        The range the data were cut to (GeV); default: the lowest and highest mass seen.
    tolerance
        How far (GeV) a sideband may reach past the lowest/highest mass seen (e.g. half a bin).
    statistics
        The statistics settings: each sideband must then hold ``min_sideband_events`` events before any
        cut, and the sidebands together more filled bins of ``bin_width`` than the background shape (the
        largest of ``shape_choice``) has parameters.

    Raises
    ------
    ConfigError
        Naming the window, the setting and the data range or counts.
    """
    if mass_range is not None:
        lo, hi = mass_range
    else:
        lo, hi = float(np.min(events.mass)) - tolerance, float(np.max(events.mass)) + tolerance
    for window in windows:
        if window.sb_low < lo or window.sb_high > hi:
            where = "signal region" if window.sr_low < lo or window.sr_high > hi else "sidebands"
            raise ConfigError(
                f"windows: the {where} of {window.label} reach outside the data's mass range "
                f"[{lo:g}, {hi:g}] GeV of {events.source}"
            )
    if statistics is not None:
        for window in windows:
            _check_sideband_statistics(window, events, statistics)


def _check_sideband_statistics(window: Window, events: EventSet, stats: StatisticsConfig) -> None:
    """The uncut sidebands of ``window`` can hold the background fit of ``stats`` (see check_windows)."""
    from bumphunt.errors import FitError
    from bumphunt.stats.fit import check_sideband_counts, window_histogram

    counts, edges = window_histogram(events.mass, window, stats.bin_width)
    centers = 0.5 * (edges[1:] + edges[:-1])
    try:
        check_sideband_counts(counts, edges, window, stats.min_sideband_events)
    except FitError as err:
        raise ConfigError(
            f"windows: {err} of {events.source} before any cut; widen the sidebands or lower "
            "statistics.min_sideband_events"
        ) from None
    shapes = stats.shape_choice or (stats.shape,)
    n_params = max(get_shape(name, (window.sb_low, window.sb_high)).n_params for name in shapes)
    filled = int(np.count_nonzero(counts[~window.in_sr(centers)] > 0))
    if filled <= n_params:
        setting = "statistics.shape_choice" if stats.shape_choice else "statistics.shape"
        raise ConfigError(
            f"windows: the sidebands of {window.label} fill {filled} bins of statistics.bin_width = "
            f"{stats.bin_width:g} GeV, too few for the {n_params} parameters of {setting} "
            f"({', '.join(shapes)}); widen the sidebands or choose a smaller shape"
        )


# ------------------------------------------------------------------------------------- detector


def _flow_preprocessing(asinh_features: Sequence[str], features: Sequence[str]) -> Any:
    """The flow's feature preprocessing: the default, after asinh on ``asinh_features``."""
    if not asinh_features:
        return None
    from bumphunt.methods.flows import default_preprocessing
    from bumphunt.methods.preprocessing import Asinh, Chain

    columns = [list(features).index(name) for name in asinh_features]
    return Chain([Asinh(columns), *default_preprocessing().steps])


def build_detector(
    method: MethodConfig,
    *,
    features: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Detector:
    """The detector of the configuration, with its classifier (and flow for CATHODE); ``features`` (the
    names of the data's feature columns) place ``method.flow.asinh_features``."""
    from bumphunt.methods import (
        DETECTORS,
        AutoencoderAD,
        Cathode,
        ClusterScan,
        ConditionalFlow,
        FeatureAutoencoder,
        FlowMixture,
        HGBEnsemble,
        MLPEnsemble,
    )

    c = method.classifier
    if c.kind == "hgb":
        classifier: Any = HGBEnsemble(
            n_members=c.n_members, max_iter=c.max_iter, learning_rate=c.learning_rate
        )
    else:
        classifier = MLPEnsemble(n_members=c.n_members, max_epochs=c.max_iter, learning_rate=c.learning_rate)
    common = {"n_folds": method.n_folds, "seed": method.seed, "progress": progress}
    if method.name == "cathode":
        f = method.flow
        flow = ConditionalFlow(
            f.kind,
            transforms=f.transforms,
            hidden_features=f.hidden_features,
            bins=f.bins,
            max_epochs=f.max_epochs,
            patience=f.patience,
            batch_size=f.batch_size,
            learning_rate=f.learning_rate,
            lr_decay=f.lr_decay,
            lr_patience=f.lr_patience,
            lr_schedule=f.lr_schedule,
            cosine_epochs=f.cosine_epochs,
            min_steps=f.min_steps,
            validation_fraction=f.validation_fraction,
            device=f.device,
            preprocessing=_flow_preprocessing(f.asinh_features, features),
        )
        return Cathode(
            classifier,
            flow=flow if f.members == 1 else FlowMixture(flow, members=f.members),
            oversampling=method.oversampling,
            flow_folds=method.flow_folds,
            mass_scaled=f.mass_scaled,
            **common,
        )
    if method.name == "cluster_scan":
        return ClusterScan(n_clusters=method.n_clusters, **common)
    if method.name == "autoencoder":
        a = method.autoencoder
        autoencoder = FeatureAutoencoder(
            hidden_layers=a.hidden_layers, latent=a.latent, max_epochs=a.max_epochs
        )
        return AutoencoderAD(autoencoder, **common)
    return DETECTORS[method.name](classifier, **common)


def window_scores(
    detector: Detector, events: EventSet, window: Window, background: EventSet | None
) -> np.ndarray:
    """Train ``detector`` in ``window`` and score every event of ``events`` inside it.

    SR events get out-of-fold scores; sideband events get scores of one fold model that never saw them
    (:meth:`~bumphunt.methods.base.Detector.window_scores`), so SR and sideband scores are alike for
    background. ``background`` goes to detectors that require a background-only sample.

    Raises
    ------
    ConfigError
        If the detector requires a background-only sample and ``background`` is None.
    """
    if detector.requires_background:
        if background is None:
            raise ConfigError(
                f"{type(detector).__name__} needs a background-only sample: set data.background"
            )
        detector.fit(events, window, background=background)
    else:
        detector.fit(events, window)
    return detector.window_scores(events, window)


# -------------------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class WindowResult:
    """One window of a search.

    Attributes
    ----------
    window
        SR and sidebands.
    scan
        Significances at each efficiency, or None if the window failed.
    mass, scores, labels
        Masses (GeV), anomaly scores and truth labels (or None) of the window's events, for plots.
    background_check
        CATHODE's check of its flows against sideband data they did not train on (AUC), or None.
    status, message
        ``"ok"`` or ``"failed"`` and why.
    seconds
        Wall time of the window.
    shape_choice
        The F-test choice of the background shape (candidates, p-values, chosen), or None.
    reweighted
        The likelihood-reweighting test of the window (``statistics.reweighting``), or None.
    """

    window: Window
    scan: SelectionScan | None
    mass: np.ndarray
    scores: np.ndarray | None
    labels: np.ndarray | None
    background_check: dict[str, float] | None
    status: str
    message: str
    seconds: float
    shape_choice: dict[str, Any] | None = None
    reweighted: dict[str, Any] | None = None

    @property
    def local_z(self) -> float:
        """Largest local significance over the efficiencies (0 if the window failed)."""
        return self.scan.max_z if self.scan is not None else 0.0

    @property
    def best_point(self) -> Any:
        """The selection point with the largest significance, or None."""
        if self.scan is None:
            return None
        ok = [p for p in self.scan.points if p.status == "ok"]
        return max(ok, key=lambda p: p.z) if ok else None

    def truth(self) -> dict[str, Any] | None:
        """AUC and max SIC of the SR scores against the truth labels, when both classes are there."""
        if self.labels is None or self.scores is None:
            return None
        in_sr = self.window.in_sr(self.mass)
        labels, scores = self.labels[in_sr], self.scores[in_sr]
        n_signal = int(np.count_nonzero(labels == 1))
        out: dict[str, Any] = {"n_signal_sr": n_signal, "n_background_sr": int(labels.size - n_signal)}
        if 0 < n_signal < labels.size:
            out["auc"] = auc(scores, labels)
            try:
                out["max_sic"] = max_sic(scores, labels)
            except ConfigError as err:  # fewer background events than the SIC floor
                logger.info("max SIC undefined in %s: %s", self.window.label, err)
        return out

    def to_summary(self) -> dict[str, Any]:
        """The window's entry in ``summary.json``."""
        in_sr, in_sb = self.window.in_sr(self.mass), self.window.in_sb(self.mass)
        entry: dict[str, Any] = {
            "label": self.window.label,
            **self.window.to_dict(),
            "status": self.status,
            "message": self.message,
            "n_sr": int(in_sr.sum()),
            "n_sb": int(in_sb.sum()),
            "local_z": self.local_z,
            "seconds": round(self.seconds, 2),
        }
        best = self.best_point
        entry["p_value"] = None if best is None else best.p_value
        entry["best_efficiency"] = None if best is None else best.efficiency
        entry["points"] = [] if self.scan is None else [_point_summary(p) for p in self.scan.points]
        first = self.scan.points[0] if self.scan is not None else None
        if first is not None and first.fit is not None:
            entry["fit"] = _fit_summary(first.fit)
        entry["background_check"] = self.background_check
        entry["truth"] = self.truth()
        entry["shape_choice"] = self.shape_choice
        entry["reweighted"] = self.reweighted
        return entry


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _fit_summary(fit: Any) -> dict[str, Any]:
    return {
        "shape": fit.shape.name,
        "values": _finite_or_none(fit.values),
        "errors": _finite_or_none(fit.errors),
        "chi2": fit.chi2,
        "ndf": fit.ndf,
        "p_value": fit.p_value,
    }


def _point_summary(point: Any) -> dict[str, Any]:
    out = {
        "efficiency": point.efficiency,
        "threshold": point.threshold,
        "sideband_efficiency": point.sideband_efficiency,
        "n_sr": point.n_sr,
        "background": point.background,
        "background_error": point.background_error,
        "z": point.z,
        "p_value": point.p_value,
        "status": point.status,
        "message": point.message,
    }
    if point.fit is not None:
        out["fit"] = _fit_summary(point.fit)
    curve = point.efficiency_curve
    if curve is not None:
        fitted = curve.constant is not None or curve.coefficients.size > 0
        out["efficiency_curve"] = {
            "centers": curve.centers,
            "n_total": curve.n_total,
            "n_passed": curve.n_passed,
            "fitted_efficiency": curve.efficiency(curve.centers) if fitted else None,
        }
    return out


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """Everything one search produced: per-window results, the global significance, the summary.

    Attributes
    ----------
    config
        The configuration that ran.
    data
        The events searched.
    windows
        One :class:`WindowResult` per window.
    global_significance
        Look-elsewhere-corrected significance of the largest local one, or None (no toys).
    timing
        Wall time of each stage (s).
    toy_failures
        Selection points of the look-elsewhere toys (``n_points``), how many failed (``n_failed``,
        counted as no excess) and the most common reasons, or None without toys.
    validation
        The same search on dimuon pairs of the other sign (``data.dimuon.validate_other_sign``), why it
        could not run (a string), or None.
    mass_scan
        The mass-only scan of the whole spectrum of NanoAOD candidates (``data.dimuon.mass_scan``):
        a :class:`~bumphunt.stats.spectrum_scan.SpectrumScan`, a message saying why it could not run,
        or None.
    """

    config: SearchConfig
    data: LoadedData
    windows: tuple[WindowResult, ...]
    global_significance: GlobalSignificance | None
    timing: dict[str, float]
    toy_failures: dict[str, Any] | None = None
    validation: SearchResult | str | None = None
    mass_scan: Any = None

    @property
    def best(self) -> int | None:
        """Index of the window with the largest local significance (None if all failed)."""
        ok = [i for i, w in enumerate(self.windows) if w.status == "ok"]
        return max(ok, key=lambda i: self.windows[i].local_z) if ok else None

    @property
    def local_z(self) -> float:
        """Largest local significance over windows and efficiencies."""
        best = self.best
        return self.windows[best].local_z if best is not None else 0.0

    def summary(self) -> Summary:
        """The typed content of ``summary.json`` (:class:`~bumphunt.summary.Summary`)."""
        from bumphunt.stats._records import jsonable

        events = self.data.events
        best = self.best
        summary: dict[str, Any] = {
            "schema": "bumphunt.summary",
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "bumphunt_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "name": self.config.name,
            "config": self.config.to_dict(),
            "provenance": dict(events.provenance),
            "data": {
                "path": str(self.config.data.path),
                "source": events.source,
                "n_events": len(events),
                "features": list(events.feature_names),
                "mass_range": [float(np.min(events.mass)), float(np.max(events.mass))],
                "has_labels": events.label is not None,
                "n_signal": None if events.label is None else int(np.count_nonzero(events.label == 1)),
                "injection": self.data.injection,
            },
            "method": {
                "name": self.config.method.name,
                "settings": self.config.method.model_dump(mode="json"),
            },
            "windows": [w.to_summary() for w in self.windows],
            "best_window": best,
            "local_z": self.local_z,
            "global": None,
            "truth": self._truth(),
            "timing": {k: round(v, 2) for k, v in self.timing.items()},
            "validation": None,
            "mass_scan": _mass_scan_summary(self.mass_scan),
        }
        if isinstance(self.validation, str):
            dimuon = self.config.data.dimuon
            summary["validation"] = {
                "sign": "same" if dimuon.sign == "opposite" else "opposite",
                "n_events": 0,
                "local_z": 0.0,
                "best_window": None,
                "windows": [],
                "message": self.validation,
            }
        elif self.validation is not None:
            other = self.validation
            summary["validation"] = {
                "sign": other.config.data.dimuon.sign,
                "n_events": len(other.data.events),
                "local_z": other.local_z,
                "best_window": other.best,
                "windows": [w.to_summary() for w in other.windows],
                "message": "",
            }
        if self.global_significance is not None:
            g = self.global_significance
            summary["global"] = {
                "z": g.z,
                "z_error": g.z_error if math.isfinite(g.z_error) else None,
                "estimate": g.estimate,
                "tail": None if g.tail is None else _tail_summary(g.tail),
                "z_is_lower_limit": g.z_is_lower_limit,
                "p_value": g.p_value,
                "p_value_error": g.p_value_error if math.isfinite(g.p_value_error) else None,
                "n_toys": int(g.toys.size),
                "n_above": g.n_above,
                "resolved": g.resolved,
                "toys_needed": g.toys_needed,
                "toys": g.toys,
                "toy_failures": self.toy_failures,
                "method": "background-only toys: masses drawn from a fit of the whole spectrum, anomaly "
                "scores uniform and independent of the mass in each window; every toy runs the same "
                "selections, background estimates and window scan as the data. Valid when the local "
                "significances are calibrated (standard normal on background), which "
                "benchmarks/null_calibration.py checks with retrained detectors",
            }
        return Summary.model_validate(jsonable(summary))

    def _truth(self) -> dict[str, Any] | None:
        events = self.data.events
        if events.label is None or not np.any(events.label == 1):
            return None
        signal_mass = events.mass[events.label == 1]
        truth: dict[str, Any] = {
            "signal_mass": float(np.median(signal_mass)),
            "signal_mass_68": [float(q) for q in np.quantile(signal_mass, [0.16, 0.84])],
            "n_signal": int(signal_mass.size),
        }
        if self.data.injection is not None:
            truth["injected_sr"] = self.data.injection["sr"]
            truth["s_over_b"] = self.data.injection["s_over_b"]
        best = self.best
        if best is not None:
            window = self.windows[best].window
            truth["best_window_contains_truth"] = bool(window.sr_low <= truth["signal_mass"] < window.sr_high)
        return truth


def _tail_summary(tail: Any) -> dict[str, Any]:
    fit = tail.tail
    return {
        "coefficients": fit.coefficients.tolist(),
        "levels": fit.levels.tolist(),
        "euler_mean": fit.euler_mean.tolist(),
        "euler_error": fit.euler_error.tolist(),
        "n_bootstrap": tail.n_bootstrap,
        "chi2": fit.chi2,
        "ndf": fit.ndf,
    }


def _reweighted(
    mass: np.ndarray, scores: np.ndarray, window: Window, selection: dict[str, Any]
) -> dict[str, Any]:
    """The likelihood-reweighting test of a window from class-balanced classifier probabilities."""
    from bumphunt.stats.reweighting import likelihood_ratio_from_probability, reweighted_significance

    ratio = likelihood_ratio_from_probability(np.clip(scores, 0.0, 1.0 - 1e-9))
    shapes = [selection["shape"], *selection.get("fallback_shapes", ())]
    first: BumphuntError | None = None
    for shape in shapes:
        try:
            result = reweighted_significance(
                mass,
                ratio,
                window,
                bin_width=selection["bin_width"],
                shape=shape,
                min_sideband_events=selection["min_sideband_events"],
            )
        except BumphuntError as err:  # a failed weighted fit: the next smaller shape, else this test only
            first = first or err
            continue
        return {
            "z": result.z,
            "status": result.status,
            "message": result.message,
            "signal_fraction": result.signal_fraction,
            "shape": shape if isinstance(shape, str) else shape.name,
        }
    return {"z": 0.0, "status": "failed", "message": str(first), "signal_fraction": None}


def _choose_shape(mass: np.ndarray, window: Window, stats: Any) -> dict[str, Any]:
    """The F-test choice among ``stats.shape_choice`` on the window's uncut sidebands."""
    from bumphunt.stats.fit import check_sideband_counts, window_histogram
    from bumphunt.stats.shape_choice import choose_shape

    counts, edges = window_histogram(mass, window, stats.bin_width)
    check_sideband_counts(counts, edges, window, stats.min_sideband_events)
    sidebands = ~window.in_sr(0.5 * (edges[1:] + edges[:-1]))
    choice = choose_shape(counts, edges, stats.shape_choice, fitted=sidebands, alpha=stats.shape_alpha)
    return {
        "candidates": list(stats.shape_choice),
        "tried": [fit.shape.name for fit in choice.fits],
        "p_values": list(choice.p_values),
        "alpha": stats.shape_alpha,
        "chosen": choice.best.shape.name,
        "message": choice.message,
    }


def _background_check(detector: Any) -> dict[str, float] | None:
    from bumphunt.methods import Cathode

    check = detector.background_check_ if isinstance(detector, Cathode) else None
    if check is None:
        return None
    fields = {k: float(v) for k, v in dataclasses.asdict(check).items() if isinstance(v, int | float)}
    return {**fields, "pull": float(check.pull)}


def _null_fit(result_windows: list[Window], events: EventSet, config: SearchConfig) -> Any:
    """Fit the background shape to the whole scanned range, the null hypothesis of the toys."""
    low = min(w.sb_low for w in result_windows)
    high = max(w.sb_high for w in result_windows)
    width = config.statistics.bin_width
    n_bins = max(1, round((high - low) / width))
    edges = np.linspace(low, high, n_bins + 1)
    counts = np.histogram(events.mass, bins=edges)[0].astype(np.float64)
    shape = get_shape(config.statistics.shape, (low, high))
    return fit_background(counts, edges, shape)


def run_search(
    config: SearchConfig,
    *,
    data: LoadedData | None = None,
    progress: SearchProgress | None = None,
) -> SearchResult:
    """Run the search of ``config`` (see the module docstring).

    Parameters
    ----------
    config
        The validated configuration.
    data
        Events already loaded with :func:`load_data` (pseudo-experiments pass theirs); default: load them.
    progress
        Called as ``progress(stage, done, total)``, stage ``"windows"``, ``"training"`` or ``"toys"``.

    Raises
    ------
    ConfigError, DataFormatError, MissingFileError
        For a bad setting or input, before any training.
    """
    start = time.perf_counter()
    timing: dict[str, float] = {}
    if data is None:
        data = load_data(config)
    events = data.events
    windows = build_windows(config.windows, config.data.mass_range)
    check_windows(
        windows,
        events,
        mass_range=config.data.mass_range,
        tolerance=0.5 * config.statistics.bin_width,
        statistics=config.statistics,
    )
    if config.output.reach is not None:  # a bad reach summary stops the run before any training
        from bumphunt.report.reach_plots import read_reach

        read_reach(config.output.reach)
    timing["load_s"] = time.perf_counter() - start

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    stats = config.statistics
    selection = stats.selection()
    results = []
    report("windows", 0, len(windows))
    for i, window in enumerate(windows):
        t0 = time.perf_counter()
        inside = events.take(window.in_window(events.mass))
        detector = build_detector(
            config.method, features=config.data.features, progress=lambda d, t: report("training", d, t)
        )
        choice = reweighted = None
        try:
            window_selection = dict(selection)
            if stats.shape_choice:
                choice = _choose_shape(inside.mass, window, stats)
                window_selection["shape"] = choice["chosen"]
                # where the chosen shape cannot fit what a tight cut leaves, the smaller candidates
                smaller = list(stats.shape_choice)[: list(stats.shape_choice).index(choice["chosen"])]
                window_selection["fallback_shapes"] = tuple(reversed(smaller))
            scores = window_scores(detector, inside, window, data.background)
            scan = selection_scan(inside.mass, scores, window, **window_selection)
            status, message = "ok", ""
            if stats.reweighting:
                reweighted = _reweighted(inside.mass, scores, window, window_selection)
        except ConfigError:
            raise
        except BumphuntError as err:  # too few events, no signal label, a failed fit: this window only
            logger.warning("window %s failed: %s", window.label, err)
            scores, scan, status, message = None, None, "failed", str(err)
        results.append(
            WindowResult(
                window=window,
                scan=scan,
                mass=inside.mass,
                scores=scores,
                labels=inside.label,
                background_check=_background_check(detector) if status == "ok" else None,
                status=status,
                message=message,
                seconds=time.perf_counter() - t0,
                shape_choice=choice,
                reweighted=reweighted,
            )
        )
        report("windows", i + 1, len(windows))
    timing["windows_s"] = time.perf_counter() - start - timing["load_s"]

    failed_points = [
        (r.window.label, p.efficiency, p.message)
        for r in results
        if r.scan is not None
        for p in r.scan.points
        if p.status != "ok"
    ]
    if failed_points:
        label, efficiency, message = failed_points[0]
        logger.warning(
            "%d selection point(s) failed and count as no excess, e.g. %s at efficiency %g: %s",
            len(failed_points),
            label,
            efficiency,
            message,
        )
    global_sig, toy_failures = None, None
    if stats.global_toys > 0 and any(r.status == "ok" for r in results):
        t0 = time.perf_counter()
        observed = max(r.local_z for r in results)
        statistic = uniform_score_statistic(_null_fit(windows, events, config), windows, **selection)
        global_sig = global_significance(
            observed,
            statistic,
            n_toys=stats.global_toys,
            seed=stats.seed,
            progress=lambda d, t: report("toys", d, t),
        )
        try:
            global_sig = with_excursion_tail(global_sig, statistic.grids, seed=stats.seed)
        except ConfigError as err:  # too few toys reach the levels of the tail fit: the bound stands
            logger.warning("global significance not extrapolated: %s", err)
        toy_failures = {
            "n_points": statistic.n_points,
            "n_failed": statistic.n_failed,
            "reasons": dict(statistic.failures.most_common(5)),
        }
        if statistic.n_failed:
            logger.info("%s", statistic.failure_summary())
        timing["toys_s"] = time.perf_counter() - t0
    mass_scan = None
    if data.spectrum is not None and config.data.dimuon.mass_scan:
        t0 = time.perf_counter()
        mass_scan = _whole_spectrum_scan(data.spectrum, config.statistics.seed)
        timing["mass_scan_s"] = time.perf_counter() - t0
    validation: SearchResult | str | None = None
    if config.data.dimuon.validate_other_sign:
        other = _other_sign(config, data)
        try:
            validation = run_search(other, progress=progress)
            timing["validation_s"] = validation.timing["total_s"]
        except BumphuntError as err:  # e.g. no pair of the other sign in the range: nothing to validate on
            logger.warning("validation on %s-sign pairs not run: %s", other.data.dimuon.sign, err)
            validation = str(err)
    timing["total_s"] = time.perf_counter() - start
    return SearchResult(
        config=config,
        data=data,
        windows=tuple(results),
        global_significance=global_sig,
        timing=timing,
        toy_failures=toy_failures,
        validation=validation,
        mass_scan=mass_scan,
    )


def _whole_spectrum_scan(masses: np.ndarray, seed: int) -> Any:
    """The mass-only scan of every selected dimuon candidate, or why it could not run (a string)."""
    from bumphunt.stats.spectrum_scan import scan_spectrum

    try:
        return scan_spectrum(masses, seed=seed)
    except BumphuntError as err:  # too few events or filled bins for the reference fit
        logger.warning("mass-only scan skipped: %s", err)
        return str(err)


def _mass_scan_summary(scan: Any) -> dict[str, Any] | None:
    if scan is None:
        return None
    if isinstance(scan, str):
        return {
            "status": "failed",
            "message": scan,
            "edges": [],
            "counts": [],
            "reference": [],
            "excesses": [],
        }
    return {
        "status": "ok",
        "message": "",
        "edges": scan.edges.tolist(),
        "counts": scan.counts.tolist(),
        "reference": scan.reference.tolist(),
        "degree": scan.degree,
        "n_toys": int(scan.bumphunter.toy_t.size),
        "excesses": [dataclasses.asdict(e) for e in scan.excesses],
    }


def _other_sign(config: SearchConfig, data: LoadedData) -> SearchConfig:
    """The configuration of the validation search: the same on dimuon pairs of the other sign, with no
    signal injected."""
    if data.events.provenance.get("format") != "nanoaod":
        raise ConfigError(
            f"data.dimuon.validate_other_sign: {data.events.source} is not NanoAOD; the validation "
            "searches dimuon pairs of the other sign"
        )
    dimuon = config.data.dimuon
    other = dimuon.model_copy(
        update={
            "sign": "same" if dimuon.sign == "opposite" else "opposite",
            "validate_other_sign": False,
            "mass_scan": False,
        }
    )
    # nothing is injected there: a resonance decays to opposite-sign pairs, and the validation asks
    # what the search finds where no resonance can be
    update = {"dimuon": other, "injection": None}
    return config.model_copy(update={"data": config.data.model_copy(update=update)})
