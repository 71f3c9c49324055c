"""The search as a YAML file: pydantic models, loading with one-line errors, JSON schema, an example.

A configuration describes one search (``bumphunt run``) and, optionally, the pseudo-experiments around
it (``bumphunt ensemble``)::

    data       where the events are, which features, which mass range, an optional signal injection
    windows    one signal region with its sidebands, or a sliding scan of them (GeV)
    method     the anomaly detector (CATHODE, CWoLa, IAD, supervised) and its classifier and flow
    statistics selection efficiencies, background shape, significance method, look-elsewhere toys
    output     the results directory
    ensemble   subsamples and signal injections on an executor (local processes, Dask, SLURM)

Unknown keys are errors (a misspelt key must not be ignored silently). :func:`load_config` reads a file
and turns any validation error into a :class:`~bumphunt.errors.ConfigError` whose one-line message
names the file, the key and the allowed values.

Example
-------
>>> cfg = SearchConfig.model_validate({"data": {"path": "events.h5"}, "windows": {"sr": [3300, 3700]}})
>>> cfg.method.name, cfg.windows.sideband_width
('cathode', 200.0)
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bumphunt.errors import ConfigError, MissingFileError

__all__ = [
    "CATHODE_FEATURES",
    "DIMUON_FEATURES",
    "SCHEMA_VERSION",
    "ClassifierConfig",
    "DataConfig",
    "DimuonConfig",
    "EnsembleConfig",
    "ExecutorConfig",
    "FlowConfig",
    "InjectionConfig",
    "IsolationConfig",
    "MethodConfig",
    "OutputConfig",
    "ScanConfig",
    "SearchConfig",
    "SlurmConfig",
    "StatisticsConfig",
    "WindowsConfig",
    "apply_overrides",
    "dimuon_example_yaml",
    "example_yaml",
    "json_schema",
    "load_config",
    "parse_config",
    "parse_executor",
]

SCHEMA_VERSION = 1
"""Version of the configuration layout; a file may state it as ``schema_version``."""

CATHODE_FEATURES = ("mj_min", "delta_mj", "tau21_jmin", "tau21_jmax")
"""The four dijet features of the CATHODE and LHC Olympics studies (GeV for masses)."""

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Interval = tuple[Annotated[float, Field(allow_inf_nan=False)], Annotated[float, Field(allow_inf_nan=False)]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_interval(value: Interval | None, what: str) -> Interval | None:
    if value is not None and not value[0] < value[1]:
        raise ValueError(f"{what} must be [low, high] with low < high, got {list(value)}")
    return value


class InjectionConfig(_Model):
    """Signal injected into background-only data, at a stated S/B in a reference signal region."""

    signal: Path = Field(description="File of signal events (same format and features as the data).")
    s_over_b: float = Field(ge=0, le=1, description="Signal over background in the reference SR.")
    sr: Interval | None = Field(
        default=None,
        description="Reference SR of the S/B (GeV); default: the SR of `windows.sr`, required for a scan.",
    )
    seed: int = Field(default=0, ge=0, description="Seed of the choice of signal events.")

    _sr = field_validator("sr")(lambda v: _check_interval(v, "data.injection.sr"))


DIMUON_FEATURES = ("pt", "eta", "mu1_pt", "mu1_eta", "mu2_pt", "mu2_eta")
"""Default features of NanoAOD dimuon candidates: the kinematics every NanoAOD file has."""


class IsolationConfig(_Model):
    """A cut on a relative isolation of the dimuon's muons (anti-isolation: `min`)."""

    quantity: str = Field(default="pfRelIso04_all", description="Per-muon quantity (Muon_<quantity>).")
    min: float | None = Field(default=None, description="Keep muons with the quantity >= min.")
    max: float | None = Field(default=None, description="Keep muons with the quantity < max.")
    muons: Literal["either", "both"] = Field(
        default="either", description="`either`: one of the two muons must pass; `both`: both."
    )

    @model_validator(mode="after")
    def _a_bound(self) -> IsolationConfig:
        if self.min is None and self.max is None:
            raise ValueError("an isolation cut needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and not self.min < self.max:
            raise ValueError(f"isolation min ({self.min}) must be below max ({self.max})")
        return self


class DimuonConfig(_Model):
    """Dimuon candidates read from CMS NanoAOD (format `nanoaod`): the two leading selected muons."""

    sign: Literal["opposite", "same"] = Field(default="opposite", description="Charge of the pair.")
    tree: str = Field(default="Events", description="TTree or RNTuple name.")
    muon_pt_min: float = Field(default=3.0, ge=0, description="Muon pT threshold (GeV).")
    muon_eta_max: PositiveFloat = Field(default=2.4, description="Muon |eta| acceptance.")
    tight_id: bool = Field(default=False, description="Require Muon_tightId.")
    isolation: tuple[IsolationConfig, ...] = Field(default=(), description="Isolation cuts on the pair.")
    bounds: dict[str, Interval] = Field(
        default_factory=dict, description="{feature: [low, high]} bounds on candidate features."
    )
    mass_scan: bool = Field(
        default=True,
        description="Also scan the whole mass spectrum of the selected pairs (no mass range) with "
        "BumpHunter against a smooth reference (as `bumphunt scan`), shown in the report.",
    )
    validate_other_sign: bool = Field(
        default=False,
        description="Also run the same search on pairs of the other sign (same-sign pairs hold no "
        "resonance) and report it next to the primary one.",
    )

    @field_validator("bounds")
    @classmethod
    def _ordered_bounds(cls, value: dict[str, Interval]) -> dict[str, Interval]:
        for name, interval in value.items():
            _check_interval(interval, f"data.dimuon.bounds.{name}")
        return value

    def selection(self) -> Any:
        """The reader's :class:`~bumphunt.io.nanoaod.DimuonSelection`."""
        from bumphunt.io.nanoaod import DimuonSelection, IsolationCut

        cuts = tuple(IsolationCut(c.quantity, c.min, c.max, c.muons) for c in self.isolation)
        return DimuonSelection(
            sign=self.sign,
            muon_pt_min=self.muon_pt_min,
            muon_eta_max=self.muon_eta_max,
            tight_id=self.tight_id,
            isolation=cuts,
            bounds=dict(self.bounds),
        )


class DataConfig(_Model):
    """Where the events are and what to use of them."""

    path: Path = Field(
        description="Events: an LHC Olympics-format HDF5 file (as `bumphunt generate` writes), a Parquet "
        "file written by bumphunt (`EventSet.to_parquet`), or a plain table with the columns named below."
    )
    format: Literal["auto", "lhco", "eventset", "table", "nanoaod"] = Field(
        default="auto",
        description="`lhco`: jet columns, features built as in CATHODE; `eventset`: bumphunt Parquet; "
        "`table`: Parquet/CSV/pandas-HDF5 with `mass_column` and the features as columns; `nanoaod`: "
        "CMS NanoAOD ROOT files (a path or glob pattern), dimuon candidates as `dimuon` says; `auto` "
        "tells from the file.",
    )
    dimuon: DimuonConfig = Field(
        default_factory=DimuonConfig, description="Dimuon candidate selection (NanoAOD data only)."
    )
    key: str | None = Field(default=None, description="HDF5 key of the table (default: the only one).")
    mass_column: str = Field(default="mjj", description="Mass column (GeV) of a `table`.")
    label_column: str | None = Field(default=None, description="Truth label column of a `table`.")
    features: tuple[str, ...] = Field(
        default=CATHODE_FEATURES,
        min_length=1,
        description="Feature columns given to the detector (NanoAOD default: the dimuon and muon pT "
        "and eta).",
    )
    mass_range: Interval | None = Field(
        default=None, description="Keep events with mass in [low, high) (GeV); default: all."
    )
    background: Path | None = Field(
        default=None,
        description="Separate background-only sample (simulation), needed by method `iad`.",
    )
    injection: InjectionConfig | None = Field(default=None, description="Signal to inject into the data.")
    spread_atoms: bool = Field(
        default=False,
        description="Spread point masses at a feature's minimum (an isolation sum of exactly 0 for many "
        "muons) uniformly over the gap to the feature's next value, for every event, so that CATHODE's "
        "flow can model the feature (`bumphunt.methods.preprocessing.spread_atoms`).",
    )

    _range = field_validator("mass_range")(lambda v: _check_interval(v, "data.mass_range"))


class ScanConfig(_Model):
    """Sliding windows: the SR slides in steps over ``[start, stop]``, sidebands included (GeV)."""

    start: float = Field(description="Low edge of the first window's low sideband (GeV).")
    stop: float = Field(description="Highest allowed high edge of the last window's high sideband (GeV).")
    sr_width: PositiveFloat = Field(description="Width of each SR (GeV).")
    step: PositiveFloat = Field(description="Step between SRs (GeV).")

    @model_validator(mode="after")
    def _ordered(self) -> ScanConfig:
        if not self.start < self.stop:
            raise ValueError(f"start ({self.start}) must be below stop ({self.stop})")
        return self


class WindowsConfig(_Model):
    """One signal region with its sidebands, or a scan of them."""

    sr: Interval | None = Field(default=None, description="Signal region [low, high] (GeV).")
    sidebands: tuple[Interval, Interval] | None = Field(
        default=None,
        description="Explicit low and high sideband (GeV), instead of `sideband_width` (single SR only).",
    )
    sideband_width: PositiveFloat = Field(
        default=200.0,
        description="Width of each sideband (GeV) with `sideband_mode: adjacent`; with `range`, the "
        "narrowest sideband (how far the first and last SR of a scan stay from its ends).",
    )
    sideband_mode: Literal["adjacent", "range"] = Field(
        default="range",
        description="`adjacent`: sidebands of `sideband_width` next to the SR. `range`: every event of the "
        "scanned range (scan.start-stop, or data.mass_range for one SR) outside the SR is sideband, so "
        "the background fits and the detectors use all the data that is not under test.",
    )
    scan: ScanConfig | None = Field(default=None, description="A sliding scan instead of one SR.")

    _sr = field_validator("sr")(lambda v: _check_interval(v, "windows.sr"))

    @model_validator(mode="after")
    def _one_kind(self) -> WindowsConfig:
        if (self.sr is None) == (self.scan is None):
            raise ValueError("give exactly one of 'sr' (one window) and 'scan' (sliding windows)")
        if self.sidebands is not None:
            if self.sr is None:
                raise ValueError("'sidebands' needs 'sr'; a scan uses 'sideband_width'")
            (lo_a, lo_b), (hi_a, hi_b) = self.sidebands
            sr_low, sr_high = self.sr
            if not (lo_a < lo_b <= sr_low and sr_high <= hi_a < hi_b):
                raise ValueError(
                    f"sidebands {[list(s) for s in self.sidebands]} must lie below and above the signal "
                    f"region {list(self.sr)} without overlapping it"
                )
        return self


class ClassifierConfig(_Model):
    """The classifier every detector trains (same for all methods, so they compare)."""

    kind: Literal["hgb", "mlp"] = Field(
        default="hgb", description="`hgb`: ensemble of HistGradientBoostingClassifiers; `mlp`: torch MLPs."
    )
    n_members: int = Field(default=10, ge=1, description="Ensemble members averaged per fold.")
    max_iter: int = Field(default=200, ge=1, description="Boosting iterations (hgb) or epochs (mlp).")
    learning_rate: PositiveFloat = Field(default=0.1, description="Learning rate (mlp default 1e-3).")


class AutoencoderConfig(_Model):
    """Dense autoencoder of ``method: autoencoder`` (:class:`bumphunt.methods.FeatureAutoencoder`)."""

    hidden_layers: tuple[int, ...] = Field(
        default=(32, 16), description="Widths of the encoder's hidden layers (the decoder mirrors them)."
    )
    latent: int = Field(default=2, ge=1, description="Size of the bottleneck (fewer than the features).")
    max_epochs: int = Field(default=100, ge=1, description="Most training epochs (early stopping).")


class FlowConfig(_Model):
    """Conditional normalizing flow of CATHODE (zuko); the defaults are those of ``ConditionalFlow``."""

    kind: Literal["maf", "nsf"] = Field(
        default="nsf", description="Neural spline flow, or masked affine autoregressive flow (as in CATHODE)."
    )
    transforms: int = Field(default=4, ge=1, description="Number of autoregressive transforms.")
    hidden_features: tuple[int, ...] = Field(default=(64, 64), min_length=1, description="Hidden widths.")
    bins: int = Field(default=8, ge=2, description="Spline bins (nsf).")
    max_epochs: int = Field(default=100, ge=1, description="Most training epochs (early stopping).")
    patience: int = Field(default=6, ge=1, description="Epochs without improvement before stopping.")
    batch_size: int = Field(default=2048, ge=1, description="Training batch size.")
    learning_rate: PositiveFloat = Field(default=3e-3, description="Adam learning rate at the start.")
    lr_decay: float | None = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="Factor applied to the learning rate after `lr_patience` epochs without improvement "
        "(`lr_schedule: plateau`); null: constant rate.",
    )
    lr_patience: int = Field(default=2, ge=1, description="Epochs without improvement before a decay.")
    lr_schedule: Literal["cosine", "plateau"] = Field(
        default="cosine",
        description="`cosine`: the rate anneals to 1 % over `cosine_epochs` epochs (at least `min_steps` "
        "batches); `plateau`: it decays by `lr_decay` when the validation loss stalls.",
    )
    cosine_epochs: int = Field(default=16, ge=1, description="Length of the cosine schedule in epochs.")
    min_steps: int = Field(default=200, ge=0, description="Fewest batches of the cosine schedule.")
    validation_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="Share of each flow's events held out for early stopping."
    )
    device: str = Field(default="auto", description="`auto` (CUDA when present), `cpu` or `cuda`.")
    members: int = Field(
        default=1,
        ge=1,
        description="Flows per sideband group, trained alike with different seeds and sampled as an "
        "equal-weight mixture (averages their training noise; costs `members` times the flow time).",
    )
    asinh_features: tuple[str, ...] = Field(
        default=(),
        description="Features the flow sees through asinh(x / s), s their 25 % quantile of |x| (heavy tails "
        "such as impact parameters or isolation sums); each must be in data.features.",
    )
    mass_scaled: tuple[str, ...] | Literal["auto"] | None = Field(
        default=None,
        description="Features that grow with the resonant mass, which the flow models divided by it "
        "(jet masses); `auto`: mj_min, delta_mj, mj1, mj2 where present; null (default): none. Each "
        "must be in data.features.",
    )


class MethodConfig(_Model):
    """The anomaly detector."""

    name: Literal["autoencoder", "cathode", "cwola", "cluster_scan", "iad", "supervised"] = Field(
        default="cathode",
        description="`cathode`: SR data vs flow samples; `cwola`: SR vs SB data; `cluster_scan`: k-means "
        "clusters of the window scored by their share of SR events (no `classifier`); `autoencoder`: "
        "reconstruction error of a dense autoencoder trained on the window's events (unsupervised, no "
        "`classifier`); `iad`: SR data vs a background-only sample (`data.background`); `supervised`: "
        "truth labels.",
    )
    n_folds: int = Field(default=5, ge=2, description="Folds: every SR event is scored out of fold.")
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    flow: FlowConfig = Field(default_factory=FlowConfig)
    n_clusters: int = Field(
        default=50, ge=2, description="`cluster_scan`: k-means clusters of the events of each window."
    )
    autoencoder: AutoencoderConfig = Field(default_factory=lambda: AutoencoderConfig())
    oversampling: PositiveFloat = Field(
        default=4.0, description="CATHODE flow samples per SR event, for each sideband group's classifier."
    )
    flow_folds: int = Field(
        default=2,
        ge=2,
        description="CATHODE sideband groups: each has a flow trained on the other groups and a "
        "classifier against its samples that scores the group, so no sideband score comes through a "
        "flow that saw the event.",
    )
    seed: int = Field(default=0, ge=0, description="Seed of folds, classifiers, flow and samples.")


class StatisticsConfig(_Model):
    """Selection on the score, background fit and significance in each window."""

    efficiencies: tuple[Annotated[float, Field(gt=0, le=1)], ...] = Field(
        default=(1.0, 0.25, 0.1, 0.05, 0.02, 0.01),
        min_length=1,
        description="Sideband efficiencies of the cuts on the anomaly score.",
    )
    shape: str = Field(default="dijet4", description="Background shape: dijet3/4/5 or polyN.")
    shape_choice: tuple[str, ...] = Field(
        default=(),
        description="Nested shapes, smallest first (e.g. [poly3, poly5, poly7]): in each window the "
        "F-test on the uncut sideband fits chooses one, which replaces `shape`.",
    )
    shape_alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Size of each F-test of the shape choice."
    )
    reweighting: bool = Field(
        default=False,
        description="Also test each window with likelihood reweighting (dimuonAD): events weighted by "
        "the classifier's likelihood ratio instead of cut, one significance per window.",
    )
    method: Literal["cut_and_count", "signal_fit"] = Field(
        default="cut_and_count", description="SB fit and SR count, or signal-plus-background fit."
    )
    background: Literal["efficiency_fit", "sideband_fit"] | None = Field(
        default=None,
        description="SR background after a cut: the uncut sideband fit times the selection efficiency "
        "fitted across the sideband bins (efficiency_fit), or a fit of the selected sidebands "
        "(sideband_fit). Default: efficiency_fit with cut_and_count, sideband_fit with signal_fit.",
    )
    efficiency_degree: Annotated[int, Field(ge=0, le=4)] | Literal["auto"] = Field(
        default=2,
        description="Degree of the logistic polynomial of the efficiency fit, or `auto`: chosen per cut "
        "by nested likelihood-ratio tests (0 up to 4, each step at the 5 % level). `auto` is not the "
        "default: on background-only samples of 24k events its global p-values came out too small.",
    )
    bin_width: PositiveFloat = Field(default=50.0, description="Largest bin width of the fits (GeV).")
    min_sideband_events: float = Field(default=10.0, ge=0, description="Fewest selected events per SB.")
    global_toys: int = Field(
        default=200, ge=0, description="Background-only toys of the look-elsewhere correction (0: none)."
    )
    seed: int = Field(default=0, ge=0, description="Seed of the toys.")

    def selection(self) -> dict[str, Any]:
        """The settings of :func:`bumphunt.stats.selection.selection_scan` (and of the look-elsewhere
        toys, which run the same selections) that this section fixes."""
        return {
            "bin_width": self.bin_width,
            "efficiencies": self.efficiencies,
            "shape": self.shape,
            "method": self.method,
            "background": self.background,
            "efficiency_degree": self.efficiency_degree,
            "min_sideband_events": self.min_sideband_events,
        }

    @model_validator(mode="after")
    def _background_goes_with_method(self) -> StatisticsConfig:
        if self.background == "efficiency_fit" and self.method != "cut_and_count":
            raise ValueError(
                "statistics.background efficiency_fit goes with method cut_and_count; "
                "set background: sideband_fit for method signal_fit"
            )
        return self

    @field_validator("shape")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        from bumphunt.stats.shapes import get_shape

        try:
            get_shape(value, (1000.0, 2000.0))
        except ConfigError as err:
            raise ValueError(str(err)) from None
        return value

    @field_validator("shape_choice")
    @classmethod
    def _nested_shapes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from bumphunt.stats.shapes import get_shape

        if not value:
            return value
        if len(value) < 2:
            raise ValueError("shape_choice needs at least two nested shapes, smallest first")
        try:
            shapes = [get_shape(v, (1000.0, 2000.0)) for v in value]
        except ConfigError as err:
            raise ValueError(str(err)) from None
        for a, b in itertools.pairwise(shapes):
            if a.log_linear != b.log_linear or a.n_params >= b.n_params:
                raise ValueError(
                    f"shape_choice must be one family with growing parameters: {a.name} then {b.name}"
                )
        return value


class OutputConfig(_Model):
    """Where results go."""

    directory: Path = Field(default=Path("bumphunt-results"), description="Results directory.")
    overwrite: bool = Field(default=False, description="Replace an existing results directory.")
    reach: Path | None = Field(
        default=None,
        description="A reach summary (reach.json of benchmarks/discovery_reach.py): the report adds its "
        "figure, global significance against injected signal per method, with this run's injection marked.",
    )


_MEMORY = re.compile(r"\d+(\.\d+)?\s*([kKMGTP]i?)?[bB]?")
_WALLTIME = re.compile(r"(\d+-)?\d+(:\d{1,2}){0,2}")


class SlurmConfig(_Model):
    """SLURM jobs of Dask workers (dask-jobqueue)."""

    queue: str | None = Field(
        default=None, description="Partition (#SBATCH -p); None: Dask's jobqueue.slurm setting."
    )
    account: str | None = Field(default=None, description="Account to charge (#SBATCH -A).")
    cores: int = Field(default=1, ge=1, description="CPU cores per job (--cpus-per-task).")
    processes: int | None = Field(
        default=None,
        ge=1,
        description="Dask worker processes per job, sharing its cores (None: one per core).",
    )
    memory: str = Field(default="4GB", description="Memory per job (--mem), e.g. '8GB'.")
    walltime: str = Field(
        default="01:00:00", description="Time limit per job (-t), e.g. '04:00:00' or '1-00:00:00'."
    )
    n_jobs: int = Field(default=1, ge=1, description="Jobs to submit.")
    job_extra_directives: tuple[str, ...] = Field(
        default=(), description="Further #SBATCH options without the prefix, e.g. '--gres=gpu:1'."
    )

    @field_validator("queue", "account")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\n" in value):
            raise ValueError(f"must be a SLURM name, got {value!r}")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not _MEMORY.fullmatch(value):
            raise ValueError(f"must be a memory size per SLURM job, e.g. '8GB'; got {value!r}")
        return value

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, value: str) -> str:
        if not _WALLTIME.fullmatch(value):
            raise ValueError(f"must be a SLURM time limit, e.g. '04:00:00' or '1-00:00:00'; got {value!r}")
        return value

    @field_validator("job_extra_directives")
    @classmethod
    def _directives(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for directive in value:
            if not directive.strip() or directive.lstrip().startswith("#"):
                raise ValueError(
                    f"must be SBATCH options without '#SBATCH', e.g. '--gres=gpu:1'; got {directive!r}"
                )
        return value

    @model_validator(mode="after")
    def _processes_fit_cores(self) -> SlurmConfig:
        if self.processes is not None and self.processes > self.cores:
            raise ValueError(f"processes must be from 1 to cores ({self.cores}), got {self.processes}")
        return self

    @property
    def worker_processes(self) -> int:
        """Dask worker processes per job (``processes``, or one per core)."""
        return self.processes if self.processes is not None else self.cores


class ExecutorConfig(_Model):
    """Where tasks (pseudo-experiments, generator chunks) run: the one executor settings type.

    ``local`` runs a process pool here; ``dask`` a Dask ``LocalCluster`` of ``n_workers`` started here,
    or the scheduler at ``address``; ``slurm`` Dask workers in SLURM jobs (``slurm``).
    """

    kind: Literal["local", "dask", "slurm"] = Field(
        default="local", description="Local processes, Dask distributed, or SLURM via dask-jobqueue."
    )
    n_workers: int = Field(default=2, ge=1, description="Worker processes (local, Dask LocalCluster).")
    address: str | None = Field(default=None, description="Address of a running Dask scheduler.")
    retries: int = Field(default=2, ge=0, description="Retries of a task whose worker died.")
    slurm: SlurmConfig = Field(default_factory=SlurmConfig)

    @model_validator(mode="after")
    def _settings_of_the_kind(self) -> ExecutorConfig:
        if self.address is not None:
            if self.kind != "dask":
                raise ValueError(f"address needs kind 'dask', not {self.kind!r}")
            if not self.address.strip():
                raise ValueError(f"address must be a Dask scheduler address, got {self.address!r}")
        if self.kind != "slurm" and self.slurm != SlurmConfig():
            raise ValueError(f"the slurm settings are for kind 'slurm', not {self.kind!r}")
        if self.kind == "slurm" and "n_workers" in self.model_fields_set and self.n_workers != 1:
            raise ValueError(
                "n_workers is not used by kind 'slurm': set slurm.n_jobs (jobs) and slurm.processes "
                "(workers per job) instead"
            )
        return self


class EnsembleConfig(_Model):
    """Pseudo-experiments: background-only subsamples and signal-injection scans."""

    n_background: int = Field(default=20, ge=0, description="Background-only experiments.")
    fraction: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Share of the background-only events in each experiment, drawn without replacement "
        "(a bootstrap would repeat events, which k-fold training then scores as unseen).",
    )
    s_over_b: tuple[Annotated[float, Field(gt=0, le=1)], ...] = Field(
        default=(0.01, 0.02, 0.05), description="Injected S/B in the reference SR of each injection point."
    )
    n_per_point: int = Field(default=10, ge=0, description="Experiments per injected S/B.")
    seed: int = Field(default=0, ge=0, description="Seed from which every experiment's seed is spawned.")
    directory: Path | None = Field(
        default=None, description="Where task results go (default: `<output.directory>-ensemble`)."
    )
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)


class SearchConfig(_Model):
    """One search, and optionally its pseudo-experiments."""

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Configuration layout version.")
    name: str = Field(default="search", min_length=1, description="Name shown in the report.")
    data: DataConfig
    windows: WindowsConfig
    method: MethodConfig = Field(default_factory=MethodConfig)
    statistics: StatisticsConfig = Field(default_factory=StatisticsConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)

    @model_validator(mode="after")
    def _consistent(self) -> SearchConfig:
        if self.method.name == "iad" and self.data.background is None:
            raise ValueError("method 'iad' needs a background-only sample: set data.background")
        injection = self.data.injection
        if injection is not None and injection.sr is None and self.windows.sr is None:
            raise ValueError("data.injection.sr is required with a window scan (the S/B reference SR)")
        w = self.windows
        if w.sideband_mode == "range" and w.sr is not None and w.sidebands is None:
            if self.data.mass_range is None:
                raise ValueError(
                    "windows.sideband_mode 'range' (the default) with one SR needs data.mass_range: the "
                    "sidebands reach its edges; set it, or windows.sideband_mode: adjacent for sidebands of "
                    "windows.sideband_width"
                )
            low, high = self.data.mass_range
            if not low < w.sr[0] < w.sr[1] < high:
                raise ValueError(
                    f"windows.sr {list(w.sr)} must lie inside data.mass_range {[low, high]} with room for "
                    "a sideband on each side (windows.sideband_mode 'range')"
                )
        for setting in ("asinh_features", "mass_scaled"):
            names = getattr(self.method.flow, setting)
            unknown = [] if names in (None, "auto") else [f for f in names if f not in self.data.features]
            if unknown:
                raise ValueError(
                    f"method.flow.{setting} {unknown} are not in data.features {list(self.data.features)}"
                )
        return self

    def resolve_paths(self, base: str | os.PathLike[str]) -> SearchConfig:
        """The configuration with relative file paths taken relative to ``base`` (the YAML's folder)."""
        base = Path(base)

        def fix(path: Path | None) -> Path | None:
            if path is None:
                return None
            return path if path.is_absolute() else base / path

        data_update: dict[str, Any] = {"path": fix(self.data.path)}
        if self.data.background is not None:
            data_update["background"] = fix(self.data.background)
        if self.data.injection is not None:
            data_update["injection"] = self.data.injection.model_copy(
                update={"signal": fix(self.data.injection.signal)}
            )
        output = self.output.model_copy(
            update={"directory": fix(self.output.directory), "reach": fix(self.output.reach)}
        )
        ensemble = self.ensemble
        if ensemble.directory is not None:
            ensemble = ensemble.model_copy(update={"directory": fix(ensemble.directory)})
        return self.model_copy(
            update={"data": self.data.model_copy(update=data_update), "output": output, "ensemble": ensemble}
        )

    def to_dict(self) -> dict[str, Any]:
        """The configuration as builtin types (paths as strings), ready for JSON or YAML."""
        return self.model_dump(mode="json")


def _error_line(err: ValidationError, source: str) -> str:
    """The first validation error in one line: where, what, and the offending value."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    value = first.get("input")
    shown = (
        "" if first["type"] in ("missing", "model_type") or isinstance(value, dict) else f" (got {value!r})"
    )
    return f"{source}: {where}: {message}{shown}{more}"


def parse_executor(values: Any, source: str = "executor") -> ExecutorConfig:
    """Validate executor settings (a mapping, e.g. from command-line options) into an ExecutorConfig.

    Raises
    ------
    ConfigError
        With one line naming ``source``, the setting and what is allowed.
    """
    try:
        return ExecutorConfig.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_error_line(err, source)) from None


def parse_config(values: Any, source: str = "config") -> SearchConfig:
    """Validate a mapping (e.g. parsed YAML) into a :class:`SearchConfig`.

    Raises
    ------
    ConfigError
        With one line naming ``source``, the key and what is allowed.
    """
    if not isinstance(values, dict):
        raise ConfigError(
            f"{source}: expected a mapping of settings at the top level, got {type(values).__name__}"
        )
    try:
        return SearchConfig.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_error_line(err, source)) from None


#: Settings that hold file paths (an override's relative path is taken relative to the working folder).
_PATH_KEYS = (
    "data.path",
    "data.background",
    "data.injection.signal",
    "output.directory",
    "ensemble.directory",
)


def apply_overrides(values: Any, overrides: Sequence[str], source: str) -> dict[str, Any]:
    """``values`` with ``KEY=VALUE`` overrides applied: dotted keys (``data.dimuon.sign``), YAML values
    (``[pt, eta]``, ``null``, ``0.5``).

    Raises
    ------
    ConfigError
        For an override without ``=`` or one that descends into a setting that is not a mapping.
    """
    result: dict[str, Any] = dict(values) if isinstance(values, dict) else {}
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {override!r}: write KEY=VALUE, e.g. data.dimuon.sign=same")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
        if key in _PATH_KEYS and isinstance(value, str) and not Path(value).is_absolute():
            value = str(Path.cwd() / value)
        node = result
        parts = key.strip().split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(
                    f"--set {override!r}: {'.'.join(parts[: depth + 1])} of {source} is not a mapping"
                )
            else:
                child = node[part] = dict(child)
            node = child
        node[parts[-1]] = value
    return result


def load_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> SearchConfig:
    """Read and validate a YAML configuration; relative paths in it are relative to its folder.

    Parameters
    ----------
    path
        The YAML file.
    overrides
        ``KEY=VALUE`` settings applied over the file (:func:`apply_overrides`).

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    ConfigError
        If the YAML is malformed or a setting is invalid (one line naming the key).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"configuration file {str(path)!r} does not exist")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}:{where} is not valid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text (YAML) file") from None
    if overrides:
        values = apply_overrides(values, overrides, str(path))
    return parse_config(values, str(path)).resolve_paths(path.parent)


def json_schema() -> str:
    """The JSON schema of the configuration, as indented JSON text."""
    schema = SearchConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bumphunt search configuration"
    return json.dumps(schema, indent=2)


_EXAMPLE = """\
# bumphunt search configuration (schema_version 1). Masses in GeV.
# Run it with:  bumphunt run search.yaml      Pseudo-experiments:  bumphunt ensemble search.yaml
schema_version: 1
name: wprime-search

data:
  # LHC Olympics-format HDF5 (as written by `bumphunt generate dijet`), a bumphunt Parquet file,
  # or a plain table (format: table, with mass_column/label_column). Relative paths are taken
  # relative to this file.
  path: events.h5
  features: [mj_min, delta_mj, tau21_jmin, tau21_jmax]
  mass_range: [2800, 5000]
  # background: background_only.h5   # needed by method: iad (simulation only)
  # injection:                       # inject signal events into background-only data
  #   signal: signal.h5
  #   s_over_b: 0.02                 # in the reference SR below
  #   sr: [3300, 3700]
  #   seed: 1

windows:
  # Either one signal region ...
  # sr: [3300, 3700]
  # sideband_width: 200
  # ... or a sliding scan: SRs of sr_width in steps, sidebands inside [start, stop].
  sideband_width: 200
  sideband_mode: range      # every event of [start, stop] outside the SR is sideband; or adjacent
  scan: {start: 2900, stop: 4500, sr_width: 400, step: 200}

method:
  name: cathode          # cathode | cwola | cluster_scan | autoencoder | iad | supervised
  n_folds: 5
  classifier: {kind: hgb, n_members: 10}
  flow: {kind: nsf, batch_size: 2048, learning_rate: 0.003, lr_schedule: cosine}   # nsf | maf
  oversampling: 4        # CATHODE flow samples per SR event
  flow_folds: 2          # CATHODE sideband groups, one flow each (cross-fitting)
  seed: 0

statistics:
  efficiencies: [1.0, 0.25, 0.1, 0.05, 0.02, 0.01]   # sideband efficiencies of the score cuts
  shape: dijet4          # dijet3 | dijet4 | dijet5 | polyN
  method: cut_and_count  # or signal_fit (with background: sideband_fit)
  background: efficiency_fit   # uncut SB fit x efficiency fitted across the SBs; or sideband_fit
  efficiency_degree: 2   # of the efficiency's logistic polynomial; auto: chosen by the data
  bin_width: 50
  global_toys: 200       # background-only toys for the look-elsewhere correction
  seed: 0

output:
  directory: results/wprime-search
  overwrite: false
  # reach: reach/reach.json   # add the discovery-reach figure of benchmarks/discovery_reach.py

ensemble:
  n_background: 20       # background-only subsamples
  fraction: 0.5          # share of the events in each, drawn without replacement
  s_over_b: [0.01, 0.02, 0.05]
  n_per_point: 10
  seed: 0
  executor:
    kind: local          # local | dask | slurm
    n_workers: 2
    # address: tcp://scheduler:8786    # an existing Dask scheduler
    # slurm: {queue: short, cores: 2, memory: 8GB, walltime: "02:00:00", n_jobs: 10}
"""


def example_yaml() -> str:
    """A commented example configuration (valid as it stands)."""
    return _EXAMPLE


def dimuon_example_yaml() -> str:
    """The commented example configuration of the dimuon (Upsilon) search in NanoAOD."""
    from importlib.resources import files

    return files("bumphunt").joinpath("data/examples/dimuon.yaml").read_text()
