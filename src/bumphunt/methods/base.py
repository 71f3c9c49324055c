"""The contract every anomaly detector of bumphunt implements: :class:`Detector`.

A detector learns, in one mass window, a score that is higher for signal-like events. The search
(:func:`bumphunt.search.run_search`) uses nothing else: it calls :meth:`Detector.fit` on the events of
the data and a :class:`~bumphunt.events.Window`, then :meth:`Detector.window_scores` to score every
event of that window, and cuts the scores at fixed sideband efficiencies. New methods (cluster scans,
autoencoders, mass-bin scans) implement the same three methods and plug into the search, the
pseudo-experiments and the report unchanged.

The one rule that keeps significances honest: an event's score in :meth:`Detector.window_scores` must
come from a model that did not see that event, for SR and sideband events alike, so that for background
the scores of SR and sideband events are equally distributed (k-fold training with out-of-fold scores;
see :mod:`bumphunt.methods.kfold`). "Did not see" includes every model behind the classifier: a
background model learned from sideband events (CATHODE's flow) must not have trained on the sideband
events it helps score, or those events look like the background model and pass cuts less often than
the SR (issue 11); :class:`~bumphunt.methods.detectors.Cathode` cross-fits its flows for this.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from bumphunt.events import EventSet, Window

__all__ = ["Detector"]


@runtime_checkable
class Detector(Protocol):
    """An anomaly detector trained in one mass window.

    Attributes
    ----------
    requires_background
        Whether :meth:`fit` needs a background-only sample (keyword ``background``; simulation only,
        e.g. the idealized anomaly detector). The search passes ``data.background`` to such detectors.
    """

    requires_background: ClassVar[bool]

    def fit(self, events: EventSet, window: Window, **kwargs: Any) -> Detector:
        """Train on the events of ``events`` inside ``window``; return ``self``.

        ``kwargs`` holds what a detector needs beyond the data, e.g. ``background`` (an
        :class:`~bumphunt.events.EventSet`) when :attr:`requires_background` is true.
        """
        ...

    def window_scores(self, events: EventSet, window: Window) -> np.ndarray:
        """Score of every event of ``events`` inside ``window`` (SR or sideband), in their order.

        Call after :meth:`fit` with the same ``events`` and ``window``. Each score comes from a model
        that never saw the event.
        """
        ...

    def score(self, events: EventSet) -> np.ndarray:
        """Score of events not used in training (e.g. a test sample): higher = more signal-like."""
        ...
