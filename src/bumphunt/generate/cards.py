"""Pythia 8 process cards as plain data.

A card is the list of ``readString`` settings that defines a process, plus the truth label its events
carry. Beam settings, output suppression and seeds are added by the event loop, never by a card.
"""

from __future__ import annotations

from dataclasses import dataclass

from bumphunt.errors import ConfigError

__all__ = [
    "BEAM_SETTINGS",
    "BOTTOM_HADRONS",
    "CHARM_HADRONS",
    "DEFAULT_DECAY_REPEATS",
    "DEFAULT_PTHAT_MIN",
    "DIMUON_PROCESSES",
    "DIMUON_PTHAT_MIN",
    "JET_PROCESSES",
    "JET_PTHAT_RANGE",
    "JET_RESONANCE_MASS",
    "MOD_PROCESSES",
    "MOD_PTHAT_MIN",
    "PROCESSES",
    "SEVEN_TEV",
    "UPSILONS",
    "ProcessCard",
    "bbbar",
    "ccbar",
    "drell_yan",
    "qcd_dijet",
    "qcd_dijets_7tev",
    "qcd_jets",
    "ttbar",
    "upsilon",
    "wprime_to_scalars",
    "wprime_to_wz",
    "wprime_to_xy",
    "zprime_to_dijets_7tev",
    "zprime_to_tops",
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
    repeated_decays
        PDG ids (particles; antiparticles follow) left undecayed by the event generation and decayed
        ``decay_repeats`` times in every event instead (:mod:`bumphunt.generate.dimuon_loop`): each
        repeat is an unweighted event that shares everything but those decay chains with its siblings.
    decay_repeats
        Repeats per generated event of the ``repeated_decays`` (1 without them).
    """

    name: str
    settings: tuple[str, ...]
    label: int
    repeated_decays: tuple[int, ...] = ()
    decay_repeats: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.decay_repeats, int) or self.decay_repeats < 1:
            raise ConfigError(f"decay_repeats must be a positive integer, got {self.decay_repeats!r}")
        if self.decay_repeats > 1 and not self.repeated_decays:
            raise ConfigError(f"process {self.name!r}: decay_repeats > 1 needs repeated_decays")


def qcd_dijet(pthat_min: float = DEFAULT_PTHAT_MIN) -> ProcessCard:
    """QCD 2 -> 2 scattering (``HardQCD:all``) with pTHat > ``pthat_min`` (GeV)."""
    return ProcessCard(
        name="qcd",
        settings=("HardQCD:all = on", f"PhaseSpace:pTHatMin = {_check_pthat(pthat_min)!r}"),
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


#: Every weakly decaying b hadron: B0, B+, Bs, Bc, Lambda_b, Xi_b-, Xi_b0, Omega_b.
BOTTOM_HADRONS: tuple[int, ...] = (511, 521, 531, 541, 5122, 5132, 5232, 5332)
#: Every weakly decaying c hadron: D+, D0, Ds, Lambda_c, Xi_c0, Xi_c+, Omega_c.
CHARM_HADRONS: tuple[int, ...] = (411, 421, 431, 4122, 4132, 4232, 4332)
#: Default decay repeats of the heavy-flavour and onium cards (see ``ProcessCard.repeated_decays``).
DEFAULT_DECAY_REPEATS = 50
#: Upsilon(1S), (2S), (3S).
UPSILONS: tuple[int, ...] = (553, 100553, 200553)

#: Default lower cut on the hard-process pT of the heavy-flavour and onium processes (GeV): two muons
#: above 3 GeV with a mass above 5 GeV rarely come from softer scatterings.
DIMUON_PTHAT_MIN = 5.0


def _check_pthat(pthat_min: float) -> float:
    if not pthat_min > 0:
        raise ConfigError(f"pthat_min must be a positive number of GeV, got {pthat_min!r}")
    return float(pthat_min)


def bbbar(pthat_min: float = DIMUON_PTHAT_MIN, decay_repeats: int = DEFAULT_DECAY_REPEATS) -> ProcessCard:
    """b bbar pair creation (``HardQCD:hardbbbar``: gg, q qbar -> b bbar) with pTHat > ``pthat_min`` (GeV).

    Muons come from semileptonic b decays, from the charm of b -> c cascades and from B0 mixing
    (same-sign pairs). Flavour excitation (gb -> gb) and gluon splitting (g -> b bbar in the shower of
    a light-parton scattering) are not generated. The decays of the weakly decaying b hadrons (with
    their cascades) are repeated ``decay_repeats`` times per generated event; events are unweighted.
    """
    return ProcessCard(
        name="bbbar",
        settings=("HardQCD:hardbbbar = on", f"PhaseSpace:pTHatMin = {_check_pthat(pthat_min)!r}"),
        label=0,
        repeated_decays=BOTTOM_HADRONS,
        decay_repeats=decay_repeats,
    )


def ccbar(pthat_min: float = DIMUON_PTHAT_MIN, decay_repeats: int = DEFAULT_DECAY_REPEATS) -> ProcessCard:
    """c cbar pair creation (``HardQCD:hardccbar``) with pTHat > ``pthat_min`` (GeV); the decays of the
    weakly decaying c hadrons are repeated ``decay_repeats`` times per generated event."""
    return ProcessCard(
        name="ccbar",
        settings=("HardQCD:hardccbar = on", f"PhaseSpace:pTHatMin = {_check_pthat(pthat_min)!r}"),
        label=0,
        repeated_decays=CHARM_HADRONS,
        decay_repeats=decay_repeats,
    )


def drell_yan(m_min: float = 4.0, m_max: float = 20.0) -> ProcessCard:
    """Drell-Yan gamma*/Z -> mu+ mu- (``WeakSingleBoson:ffbar2gmZ``) with ``m_min`` < m(mu mu) <
    ``m_max`` (GeV). The decay is restricted in the hard process, so Pythia's cross section already
    includes the branching fraction and events are unweighted."""
    if not 0 < m_min < m_max:
        raise ConfigError(f"need 0 < m_min < m_max (GeV), got m_min={m_min!r}, m_max={m_max!r}")
    return ProcessCard(
        name="drell-yan",
        settings=(
            "WeakSingleBoson:ffbar2gmZ = on",
            f"PhaseSpace:mHatMin = {float(m_min)!r}",
            f"PhaseSpace:mHatMax = {float(m_max)!r}",
            "23:onMode = off",
            "23:onIfAny = 13",
        ),
        label=0,
    )


def upsilon(pthat_min: float = DIMUON_PTHAT_MIN, decay_repeats: int = 10) -> ProcessCard:
    """Bottomonium production (``Bottomonium:all``: colour-singlet and -octet NRQCD, chi_b feed-down)
    with pTHat > ``pthat_min`` (GeV). The relative rates of Upsilon(1S), (2S), (3S) and their
    branching fractions to mu mu are Pythia's; their decays are repeated ``decay_repeats`` times per
    generated event (fewer than for open heavy flavour: a mu mu decay is likelier and siblings share
    the Upsilon's momentum)."""
    return ProcessCard(
        name="upsilon",
        settings=("Bottomonium:all = on", f"PhaseSpace:pTHatMin = {_check_pthat(pthat_min)!r}"),
        label=1,
        repeated_decays=UPSILONS,
        decay_repeats=decay_repeats,
    )


#: Dimuon card factories by command-line name.
DIMUON_PROCESSES = {"bbbar": bbbar, "ccbar": ccbar, "drell-yan": drell_yan, "upsilon": upsilon}


#: Default pTHat window of the QCD jet card (GeV): a leading jet of 550-650 GeV rarely comes from a
#: softer scattering, and harder ones rarely give one (the jet would have lost > 15 % of its pT).
JET_PTHAT_RANGE = (400.0, 1000.0)
#: Default mass of the heavy resonances of the jet signal cards (GeV): decay products near 600 GeV pT.
JET_RESONANCE_MASS = 1200.0

_HADRONIC_W = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")
_INVISIBLE_Z = ("23:onMode = off", "23:onIfAny = 12 14 16")


def qcd_jets(pthat_min: float = JET_PTHAT_RANGE[0], pthat_max: float = JET_PTHAT_RANGE[1]) -> ProcessCard:
    """QCD 2 -> 2 scattering (``HardQCD:all``) with ``pthat_min`` < pTHat < ``pthat_max`` (GeV): the
    quark and gluon jets of the jet-substructure samples."""
    low, high = _check_pthat(pthat_min), _check_pthat(pthat_max)
    if not low < high:
        raise ConfigError(f"need pthat_min < pthat_max (GeV), got {low!r} and {high!r}")
    return ProcessCard(
        name="qcd",
        settings=("HardQCD:all = on", f"PhaseSpace:pTHatMin = {low!r}", f"PhaseSpace:pTHatMax = {high!r}"),
        label=0,
    )


def _check_mass(name: str, value: float) -> float:
    if not value > 0:
        raise ConfigError(f"{name} must be a positive mass in GeV, got {value!r}")
    return float(value)


def _zprime(mass: float, channel: str) -> tuple[str, ...]:
    """A Z' (id 32, ``NewGaugeBoson:ffbar2gmZZprime`` with the Z' alone) decaying only to ``channel``."""
    return (
        "NewGaugeBoson:ffbar2gmZZprime = on",
        "Zprime:gmZmode = 3",
        *_narrow_resonance(32, _check_mass("m_zprime", mass), 0.01),
        f"32:oneChannel = 1 1.0 100 {channel}",
    )


def zprime_to_tops(m_zprime: float = JET_RESONANCE_MASS) -> ProcessCard:
    """Z' -> t tbar with hadronic W decays: boosted top jets (three prongs, mass near 173 GeV)."""
    return ProcessCard(name="top", settings=(*_zprime(m_zprime, "6 -6"), *_HADRONIC_W), label=1)


def wprime_to_wz(m_wprime: float = JET_RESONANCE_MASS) -> ProcessCard:
    """W' -> W Z with W -> q qbar' and Z -> nu nu: one boosted W jet (two prongs, mass near 80 GeV)
    recoiling against missing momentum."""
    settings = (
        "NewGaugeBoson:ffbar2Wprime = on",
        *_narrow_resonance(34, _check_mass("m_wprime", m_wprime), 0.01),
        "34:oneChannel = 1 1.0 100 24 23",
        *_HADRONIC_W,
        *_INVISIBLE_Z,
    )
    return ProcessCard(name="w", settings=settings, label=1)


def wprime_to_scalars(
    m_wprime: float = JET_RESONANCE_MASS, m_heavy: float = 174.0, m_light: float = 80.0
) -> ProcessCard:
    """W' -> H W with a scalar H (id 35, mass ``m_heavy``) -> h h (id 25, mass ``m_light``), h -> b bbar,
    and W -> e nu: one boosted four-prong jet (GeV; the heavy-scalar signal of arXiv:2203.01343).

    Pythia's Z' takes only fermion-pair decays, so the scalar comes with a W, whose decay to an electron
    and a neutrino leaves the scalar the leading jet in nearly every event (the electron becomes the
    leading "jet" only when it carries nearly all of the W's momentum).
    """
    heavy, light = _check_mass("m_heavy", m_heavy), _check_mass("m_light", m_light)
    if 2 * light >= heavy:
        raise ConfigError(f"need 2 m_light < m_heavy for H -> h h, got m_light={light!r}, m_heavy={heavy!r}")
    settings = (
        "NewGaugeBoson:ffbar2Wprime = on",
        *_narrow_resonance(34, _check_mass("m_wprime", m_wprime), 0.01),
        "34:oneChannel = 1 1.0 100 35 24",
        *_narrow_resonance(35, heavy, 0.001),
        "35:oneChannel = 1 1.0 100 25 25",
        f"25:m0 = {light!r}",
        "25:onMode = off",
        "25:onIfMatch = 5 -5",
        "24:onMode = off",
        "24:onIfAny = 11",
    )
    return ProcessCard(name="scalar", settings=settings, label=1)


#: Jet-sample card factories by command-line name.
JET_PROCESSES = {"qcd": qcd_jets, "top": zprime_to_tops, "w": wprime_to_wz, "scalar": wprime_to_scalars}


def ttbar() -> ProcessCard:
    """Top-pair production (``Top:gg2ttbar``, ``Top:qqbar2ttbar``) with every decay open: leptons from
    W decays (prompt, or through a tau) and from b and c hadron decays."""
    return ProcessCard(name="ttbar", settings=("Top:gg2ttbar = on", "Top:qqbar2ttbar = on"), label=0)


#: Settings of the 2011 LHC run (pp at 7 TeV), the energy of the CMS 2011A Open Data jets (MOD files).
SEVEN_TEV: tuple[str, ...] = ("Beams:eCM = 7000.",)
#: Default pTHat cut of the 7 TeV QCD dijet card (GeV): jets of 375 GeV come from harder scatterings.
MOD_PTHAT_MIN = 300.0


def qcd_dijets_7tev(pthat_min: float = MOD_PTHAT_MIN) -> ProcessCard:
    """QCD 2 -> 2 scattering (``HardQCD:all``) at 7 TeV with pTHat > ``pthat_min`` (GeV): the background of
    the CMS 2011A jet selection."""
    return ProcessCard(
        name="qcd",
        settings=(*SEVEN_TEV, "HardQCD:all = on", f"PhaseSpace:pTHatMin = {_check_pthat(pthat_min)!r}"),
        label=0,
    )


def zprime_to_dijets_7tev(m_zprime: float = 1000.0) -> ProcessCard:
    """A narrow Z' (1 % width) at 7 TeV decaying to light-quark pairs (u, d, s, c, b): a dijet resonance."""
    settings = (*SEVEN_TEV, *_zprime(m_zprime, "1 -1"), "32:addChannel = 1 1.0 100 2 -2")
    settings += (
        "32:addChannel = 1 1.0 100 3 -3",
        "32:addChannel = 1 1.0 100 4 -4",
        "32:addChannel = 1 1.0 100 5 -5",
    )
    return ProcessCard(name="zprime", settings=settings, label=1)


#: 7 TeV dijet card factories of ``bumphunt generate mod-dijets`` by command-line name.
MOD_PROCESSES = {"qcd": qcd_dijets_7tev, "zprime": zprime_to_dijets_7tev}
