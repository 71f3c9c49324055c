"""Physics building blocks: four-vectors, jet clustering, jet substructure."""

from bumphunt.physics.jets import cluster_jets, nsubjettiness, to_cartesian

__all__ = ["cluster_jets", "nsubjettiness", "to_cartesian"]
