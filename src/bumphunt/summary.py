"""The result of a search as a typed record: :class:`Summary`, the content of ``summary.json``.

:meth:`bumphunt.search.SearchResult.summary` builds it; ``bumphunt run`` writes it
(:func:`bumphunt.results.write_results`), and the command line, the report and the ensemble read it
with attribute access, so a missing or misspelled field is an error where it is made, not a blank in
a report. :func:`summary_schema` is its JSON schema (``bumphunt config summary-schema``), versioned
by :data:`SUMMARY_SCHEMA_VERSION`; :func:`read_summary` reads a file back.

Masses in GeV, times in seconds. A number that could not be computed is ``None``, never NaN.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bumphunt.errors import DataFormatError

__all__ = [
    "SUMMARY_SCHEMA_VERSION",
    "BackgroundCheckSummary",
    "DataSummary",
    "EfficiencyCurveSummary",
    "FitSummary",
    "GlobalSummary",
    "MassScanSummary",
    "MethodSummary",
    "PointSummary",
    "Summary",
    "ToyFailures",
    "TruthSummary",
    "ValidationSummary",
    "WindowSummary",
    "WindowTruth",
    "parse_summary",
    "read_summary",
    "summary_schema",
]

SUMMARY_SCHEMA_VERSION = 1
"""Version of the layout of ``summary.json``."""

Interval = tuple[float, float]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FitSummary(_Record):
    """A binned background fit: shape, parameters with errors, goodness of fit."""

    shape: str = Field(description="Name of the background shape, e.g. 'dijet4'.")
    values: list[float | None] = Field(description="Fitted parameters.")
    errors: list[float | None] = Field(description="Their errors.")
    chi2: float | None = Field(description="Chi-square of the fit over the fitted bins.")
    ndf: int = Field(description="Degrees of freedom.")
    p_value: float | None = Field(description="Chi-square p-value.")


class ReweightedSummary(_Record):
    """The likelihood-reweighting test of one window: events weighted by the classifier's likelihood
    ratio, weighted sideband fit, effective count in the SR."""

    z: float = Field(description="One-sided local significance (0 without an excess to reweight).")
    status: Literal["ok", "no_excess", "failed"]
    message: str = ""
    signal_fraction: float | None = Field(description="Signal fraction in the SR used for the weights.")
    shape: str | None = Field(
        default=None,
        description="Background shape of the weighted fit (a smaller one where the chosen fails).",
    )


class ShapeChoiceSummary(_Record):
    """The sequential F-test choice of the background shape on the uncut sidebands of a window."""

    candidates: list[str] = Field(description="Nested shapes, smallest first.")
    tried: list[str] = Field(description="Shapes fitted before the sequence stopped.")
    p_values: list[float] = Field(description="F-test p-value of each larger shape against the accepted one.")
    alpha: float = Field(description="Size of each test.")
    chosen: str = Field(description="The shape used in the window.")
    message: str = Field(default="", description="Why the sequence stopped early (a failed fit), if it did.")


class EfficiencyCurveSummary(_Record):
    """Selection efficiency against the mass: counts per bin and the fitted curve."""

    centers: list[float] = Field(description="Bin centres (GeV).")
    n_total: list[float] = Field(description="Events per bin before the cut.")
    n_passed: list[float] = Field(description="Events per bin passing the cut.")
    fitted_efficiency: list[float] | None = Field(description="Fitted efficiency at the bin centres.")


class PointSummary(_Record):
    """One cut on the anomaly score and the significance of the SR excess after it."""

    efficiency: float = Field(description="Sideband efficiency of the cut (1: no cut).")
    threshold: float | None = Field(default=None, description="Score threshold.")
    sideband_efficiency: float | None = Field(default=None, description="Sideband fraction passing.")
    n_sr: float | None = Field(description="SR events passing.")
    background: float | None = Field(description="Predicted SR background after the cut.")
    background_error: float | None = Field(description="Its error.")
    z: float | None = Field(description="Local significance (sigma).")
    p_value: float | None = Field(description="Local p-value.")
    status: Literal["ok", "failed"] = Field(description="Whether the point was evaluated.")
    message: str = Field(default="", description="Why it failed.")
    fit: FitSummary | None = Field(default=None, description="Background fit of this point.")
    efficiency_curve: EfficiencyCurveSummary | None = Field(
        default=None, description="Efficiency against the mass (efficiency_fit background)."
    )


class BackgroundCheckSummary(_Record):
    """CATHODE's check of the flows: sideband data against samples of flows that never saw them."""

    auc: float = Field(description="Out-of-fold AUC (0.5: the flow is faithful).")
    null_std: float = Field(description="Standard deviation of the AUC from statistics alone.")
    pull: float = Field(
        description="(auc - 0.5) / null_std: how many statistical standard deviations the flow is off."
    )
    n_data: float = Field(description="Held-out sideband events.")
    n_samples: float = Field(description="Flow samples.")

    @model_validator(mode="before")
    @classmethod
    def _derive_pull(cls, values: Any) -> Any:
        """Summaries written before the pull was recorded: derive it from ``auc`` and ``null_std``."""
        if isinstance(values, dict) and "pull" not in values and {"auc", "null_std"} <= values.keys():
            std = values["null_std"]
            values = {**values, "pull": (values["auc"] - 0.5) / std if std > 0 else 0.0}
        return values


class WindowTruth(_Record):
    """The SR scores against the truth labels (simulation)."""

    n_signal_sr: int
    n_background_sr: int
    auc: float | None = None
    max_sic: float | None = None


class WindowSummary(_Record):
    """One window of a search."""

    label: str = Field(description="The window in words.")
    sr: Interval = Field(description="Signal region [low, high) (GeV).")
    sb: list[Interval] = Field(description="Sidebands (GeV).")
    status: Literal["ok", "failed"]
    message: str = ""
    n_sr: int = Field(description="Events in the SR.")
    n_sb: int = Field(description="Events in the sidebands.")
    local_z: float = Field(description="Largest local significance over the cuts (0 if failed).")
    seconds: float = Field(description="Wall time of the window.")
    p_value: float | None = Field(description="Local p-value of the best cut.")
    best_efficiency: float | None = Field(description="Sideband efficiency of the best cut.")
    points: list[PointSummary] = Field(description="Every cut.")
    fit: FitSummary | None = Field(default=None, description="Fit of the uncut sidebands.")
    background_check: BackgroundCheckSummary | None = None
    truth: WindowTruth | None = None
    shape_choice: ShapeChoiceSummary | None = Field(
        default=None, description="F-test choice of the background shape (statistics.shape_choice)."
    )
    reweighted: ReweightedSummary | None = Field(
        default=None, description="Likelihood-reweighting test of the window (statistics.reweighting)."
    )


class ValidationSummary(_Record):
    """The same search on dimuon pairs of the other sign (data.dimuon.validate_other_sign)."""

    sign: Literal["opposite", "same"] = Field(description="Charge of the validation pairs.")
    n_events: int = Field(description="Candidates searched.")
    local_z: float = Field(description="Largest local significance (sigma).")
    best_window: int | None = Field(description="Index of the window with the largest local Z.")
    windows: list[WindowSummary]
    message: str = Field(default="", description="Why the validation could not run, if it could not.")


class ExcessSummary(_Record):
    """One excess of the mass-only scan."""

    low: float
    high: float
    n_data: float
    n_reference: float
    local_p: float
    local_z: float
    global_p: float
    global_z: float
    global_z_is_lower_limit: bool


class MassScanSummary(_Record):
    """The mass-only BumpHunter scan of the whole spectrum (NanoAOD data, data.dimuon.mass_scan)."""

    status: Literal["ok", "failed"]
    message: str = ""
    edges: list[float] = Field(description="Logarithmic bin edges (GeV).")
    counts: list[float] = Field(description="Events per bin.")
    reference: list[float] = Field(description="Smooth reference per bin.")
    degree: int | None = Field(default=None, description="Degree of the reference fit.")
    n_toys: int | None = Field(default=None, description="Pseudo-experiments of the global p-values.")
    excesses: list[ExcessSummary] = Field(description="Non-overlapping excesses, most significant first.")


class ToyFailures(_Record):
    """Selection points of the look-elsewhere toys that failed (counted as no excess)."""

    n_points: int
    n_failed: int
    reasons: dict[str, int] = Field(description="The most common reasons, numbers replaced by '#'.")


class TailSummary(_Record):
    """The Gross-Vitells excursion tail fitted to the toys (:mod:`bumphunt.stats.excursion_tail`)."""

    coefficients: list[float] = Field(description="N1 (and N2 on a two-dimensional grid).")
    levels: list[float] = Field(description="Levels of the fit (sigma).")
    euler_mean: list[float] = Field(description="Mean Euler characteristic of the toys at each level.")
    euler_error: list[float] = Field(description="Its standard error.")
    n_bootstrap: int = Field(description="Resamplings of the toys behind the errors.")
    chi2: float
    ndf: int


class GlobalSummary(_Record):
    """Global significance of the largest local one from background-only toys."""

    z: float = Field(description="Global significance (sigma); a lower limit if z_is_lower_limit.")
    z_error: float | None = Field(default=None, description="Standard error of z (None for a bound).")
    estimate: Literal["toys", "tail", "bound"] = Field(
        default="toys",
        description="toys: counted among the toys; tail: extrapolated by the excursion tail fitted to "
        "them (too few toys reached the data); bound: a lower limit.",
    )
    tail: TailSummary | None = Field(default=None, description="The tail fit, when it gave z.")
    z_is_lower_limit: bool
    p_value: float
    p_value_error: float | None = Field(description="Its error (None beyond the tail's reach).")
    n_toys: int
    n_above: int = Field(description="Toys at least as extreme as the data.")
    resolved: bool = Field(description="Enough toys above the data to measure the p-value.")
    toys_needed: int = Field(description="Toys that would measure it to about 30 %.")
    toys: list[float] = Field(description="The search statistic of each toy.")
    toy_failures: ToyFailures | None = None
    method: str = Field(description="How the toys were made, in words.")


class TruthSummary(_Record):
    """Where the signal of a labelled sample sits, and whether the search found it."""

    signal_mass: float = Field(description="Median signal mass (GeV).")
    signal_mass_68: Interval = Field(description="16 % and 84 % quantiles (GeV).")
    n_signal: int
    injected_sr: Interval | None = None
    s_over_b: float | None = None
    best_window_contains_truth: bool | None = None


class DataSummary(_Record):
    """The events searched."""

    path: str
    source: str
    n_events: int
    features: list[str]
    mass_range: Interval
    has_labels: bool
    n_signal: int | None
    injection: dict[str, Any] | None = Field(description="What was injected, or None.")


class MethodSummary(_Record):
    """The detector and its settings."""

    name: str
    settings: dict[str, Any]


class Summary(_Record):
    """Everything a search reports: the content of ``summary.json``."""

    schema_name: Literal["bumphunt.summary"] = Field(default="bumphunt.summary", alias="schema")
    schema_version: Literal[1] = SUMMARY_SCHEMA_VERSION
    bumphunt_version: str
    created: str = Field(description="UTC time, ISO 8601.")
    name: str
    config: dict[str, Any] = Field(description="The configuration that ran (as in its YAML).")
    provenance: dict[str, Any] = Field(description="Provenance of the data file.")
    data: DataSummary
    method: MethodSummary
    windows: list[WindowSummary]
    best_window: int | None = Field(description="Index of the window with the largest local Z.")
    local_z: float = Field(description="Largest local significance (sigma).")
    global_significance: GlobalSummary | None = Field(alias="global")
    truth: TruthSummary | None
    timing: dict[str, float] = Field(description="Wall time of each stage (s).")
    validation: ValidationSummary | None = Field(
        default=None, description="The search on pairs of the other sign, if configured."
    )
    mass_scan: MassScanSummary | None = Field(
        default=None, description="Mass-only scan of the whole spectrum (NanoAOD data)."
    )

    @property
    def best(self) -> WindowSummary | None:
        """The window with the largest local significance, or None."""
        return None if self.best_window is None else self.windows[self.best_window]

    def to_dict(self) -> dict[str, Any]:
        """Builtin types, with the field names of ``summary.json``."""
        return self.model_dump(mode="json", by_alias=True)


def summary_schema() -> dict[str, Any]:
    """JSON schema of ``summary.json`` (``bumphunt config summary-schema`` prints it)."""
    schema = Summary.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"bumphunt summary.json, schema version {SUMMARY_SCHEMA_VERSION}"
    return schema


def read_summary(path: str | os.PathLike[str]) -> Summary:
    """Read a ``summary.json``.

    Raises
    ------
    bumphunt.errors.DataFormatError
        If the file is not JSON or not a summary of this schema version; the message names the field.
    """
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFormatError(f"{path}: not a readable JSON file ({err})") from None
    return parse_summary(values, str(path))


def parse_summary(values: Any, source: str = "summary") -> Summary:
    """Validate a mapping into a :class:`Summary` (a summary already typed is returned as it is).

    Raises
    ------
    bumphunt.errors.DataFormatError
        With one line naming ``source`` and the first wrong field.
    """
    if isinstance(values, Summary):
        return values
    try:
        return Summary.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DataFormatError(
            f"{source}: not a bumphunt summary of schema version {SUMMARY_SCHEMA_VERSION}: "
            f"{where}: {first['msg']}"
        ) from None
