"""Pythia 8 process cards as plain data.

A card is the list of ``readString`` settings that defines a process, plus the truth label its events
carry. Beam settings, output suppression and seeds are added by the event loop, never by a card.
"""

from __future__ import annotations

from dataclasses import dataclass

from bumphunt.errors import ConfigError

__all__ = [
    "BEAM_SETTINGS",
    "DEFAULT_PTHAT_MIN",
    "PROCESSES",
    "ProcessCard",
    "qcd_dijet",
    "wprime_to_xy",
]

#: Settings common to every process: pp at a centre-of-mass energy of 13 TeV.
BEAM_SETTINGS: tuple[str, ...] = ("Beams:idA = 2212", "Beams:idB = 2212", "Beams:eCM = 13000.")

#: Default lower cut on the hard process pT (GeV). Of the triggered events (leading jet pT > 1.2 TeV)
#: with mjj > 2.5 TeV generated with pTHat > 500 GeV, 1 in 1271 had pTHat below 600 GeV (7 below 700,
#: 28 below 800): with this cut the trigger is fully efficient above mjj = 2.5 TeV to about 0.1 %.
#: ``benchmarks/trigger_efficiency.py`` makes the measurement; the README gives it.
DEFAULT_PTHAT_MIN = 600.0


@dataclass(frozen=True)
class ProcessCard:
    """One physics process for Pythia 8.

    Attributes
    ----------
    name
        Short name, also used on the command line.
    settings
        Pythia ``readString`` lines.
    label
        Truth label of the process's events (0 background, 1 signal).
    """

    name: str
    settings: tuple[str, ...]
    label: int


def qcd_dijet(pthat_min: float = DEFAULT_PTHAT_MIN) -> ProcessCard:
    """QCD 2 -> 2 scattering (``HardQCD:all``) with pTHat > ``pthat_min`` (GeV)."""
    if not pthat_min > 0:
        raise ConfigError(f"pthat_min must be a positive number of GeV, got {pthat_min!r}")
    return ProcessCard(
        name="qcd",
        settings=("HardQCD:all = on", f"PhaseSpace:pTHatMin = {float(pthat_min)!r}"),
        label=0,
    )


def _narrow_resonance(pdg_id: int, mass: float, relative_width: float) -> tuple[str, ...]:
    """Mass, a fixed narrow width, and a Breit-Wigner truncated at +- 20 widths."""
    width = relative_width * mass
    return (
        f"{pdg_id}:m0 = {mass!r}",
        f"{pdg_id}:mWidth = {width!r}",
        f"{pdg_id}:mMin = {mass - 20 * width!r}",
        f"{pdg_id}:mMax = {mass + 20 * width!r}",
    )


def wprime_to_xy(m_wprime: float = 3500.0, m_x: float = 500.0, m_y: float = 100.0) -> ProcessCard:
    """W' -> X Y with X -> q qbar and Y -> q qbar', the LHC Olympics R&D signal (GeV).

    The W' (PDG id 34, produced by ``NewGaugeBoson:ffbar2Wprime``) decays only to a neutral scalar
    (id 35, re-massed to X) and a charged scalar (id 37, re-massed to Y). X decays to d, u, s, c or b
    pairs with equal probability, Y to u dbar or c sbar. Every decay channel uses phase space only
    (``meMode = 100``), so each width is the fixed value given here: 1 % of the mass for the W', 0.1 %
    for X and Y.
    """
    for name, value in (("m_wprime", m_wprime), ("m_x", m_x), ("m_y", m_y)):
        if not value > 0:
            raise ConfigError(f"{name} must be a positive mass in GeV, got {value!r}")
    if m_x + m_y >= m_wprime:
        raise ConfigError(
            f"m_x + m_y must be below m_wprime for the decay W' -> X Y to be open, "
            f"got m_x={m_x!r} + m_y={m_y!r} >= m_wprime={m_wprime!r} GeV"
        )
    quarks = (1, 2, 3, 4, 5)
    x_channels = [f"35:oneChannel = 1 {1 / len(quarks)!r} 100 {quarks[0]} -{quarks[0]}"]
    x_channels += [f"35:addChannel = 1 {1 / len(quarks)!r} 100 {q} -{q}" for q in quarks[1:]]
    settings = (
        "NewGaugeBoson:ffbar2Wprime = on",
        *_narrow_resonance(34, float(m_wprime), 0.01),
        "34:oneChannel = 1 1.0 100 35 37",
        *_narrow_resonance(35, float(m_x), 0.001),
        *x_channels,
        *_narrow_resonance(37, float(m_y), 0.001),
        "37:oneChannel = 1 0.5 100 2 -1",
        "37:addChannel = 1 0.5 100 4 -3",
    )
    return ProcessCard(name="wprime", settings=settings, label=1)


#: Card factories by command-line name.
PROCESSES = {"qcd": qcd_dijet, "wprime": wprime_to_xy}
