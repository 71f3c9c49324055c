"""Anomaly detectors and their building blocks: preprocessing, classifiers, k-fold training, flows.

* :mod:`~bumphunt.methods.base` -- :class:`Detector`, the contract every anomaly detector implements
* :mod:`~bumphunt.methods.preprocessing` -- invertible transforms with log-Jacobians
* :mod:`~bumphunt.methods.classifiers` -- boosted-tree and MLP ensembles (scikit-learn API)
* :mod:`~bumphunt.methods.kfold` -- k-fold training with out-of-fold scores
* :mod:`~bumphunt.methods.flows` -- conditional normalizing flow ``p(x | m)`` (zuko)
* :mod:`~bumphunt.methods.mass_density` -- density of the signal-region masses for sampling
* :mod:`~bumphunt.methods.detectors` -- CWoLa, CATHODE, cluster scan, idealized AD, supervised reference
* :mod:`~bumphunt.methods.cluster_scanning` -- k-means on jet images and on event features
* :mod:`~bumphunt.methods.autoencoder` -- autoencoders on jet images and on feature tables
* :mod:`~bumphunt.methods.unsupervised` -- the autoencoder as a cross-fitted detector in a window
* :mod:`~bumphunt.methods.mimickers` -- high-level and paired networks that mimic an anomaly score
* :mod:`~bumphunt.methods.observable_selection` -- greedy ADO-guided choice of the mimickers' observables
* :mod:`~bumphunt.methods.threshold` -- the best single cut on one variable, a baseline classifier
* :mod:`~bumphunt.methods.training_curves` -- train and test metrics along a training (overtraining studies)
* :mod:`~bumphunt.methods.pfn` -- Particle Flow Networks on sets of particles
"""

from typing import TYPE_CHECKING

from bumphunt._lazy import lazy_exports

if TYPE_CHECKING:
    from bumphunt.methods.autoencoder import AutoencoderEnsemble, FeatureAutoencoder, JetImageAutoencoder
    from bumphunt.methods.base import Detector
    from bumphunt.methods.classifiers import HGBEnsemble, MLPEnsemble
    from bumphunt.methods.cluster_scanning import ClusterHistogramClassifier
    from bumphunt.methods.detectors import (
        DETECTORS,
        BackgroundCheck,
        Cathode,
        ClusterScan,
        CWoLa,
        IdealizedAD,
        Supervised,
        flow_check,
    )
    from bumphunt.methods.flows import ConditionalFlow, FlowMixture
    from bumphunt.methods.kfold import KFoldClassifier, assign_folds
    from bumphunt.methods.mass_density import KDEMassDensity
    from bumphunt.methods.pfn import ParticleFlowNetwork, PFNClassifier
    from bumphunt.methods.preprocessing import Chain, Log, MinMaxLogit, QuantileNormal, Standardize
    from bumphunt.methods.threshold import ThresholdClassifier
    from bumphunt.methods.training_curves import TrainingCurves, mlp_training_curves
    from bumphunt.methods.unsupervised import AutoencoderAD

# each public name is imported from its submodule on first use (bumphunt._lazy)
_SUBMODULES = {
    "AutoencoderAD": "unsupervised",
    "AutoencoderEnsemble": "autoencoder",
    "BackgroundCheck": "detectors",
    "CWoLa": "detectors",
    "Cathode": "detectors",
    "Chain": "preprocessing",
    "ClusterHistogramClassifier": "cluster_scanning",
    "ClusterScan": "detectors",
    "ConditionalFlow": "flows",
    "FlowMixture": "flows",
    "DETECTORS": "detectors",
    "Detector": "base",
    "FeatureAutoencoder": "autoencoder",
    "HGBEnsemble": "classifiers",
    "IdealizedAD": "detectors",
    "JetImageAutoencoder": "autoencoder",
    "KDEMassDensity": "mass_density",
    "KFoldClassifier": "kfold",
    "Log": "preprocessing",
    "MLPEnsemble": "classifiers",
    "MinMaxLogit": "preprocessing",
    "PFNClassifier": "pfn",
    "ParticleFlowNetwork": "pfn",
    "QuantileNormal": "preprocessing",
    "Standardize": "preprocessing",
    "Supervised": "detectors",
    "ThresholdClassifier": "threshold",
    "TrainingCurves": "training_curves",
    "assign_folds": "kfold",
    "flow_check": "detectors",
    "mlp_training_curves": "training_curves",
}

__all__ = [
    "DETECTORS",
    "AutoencoderAD",
    "AutoencoderEnsemble",
    "BackgroundCheck",
    "CWoLa",
    "Cathode",
    "Chain",
    "ClusterHistogramClassifier",
    "ClusterScan",
    "ConditionalFlow",
    "Detector",
    "FeatureAutoencoder",
    "FlowMixture",
    "HGBEnsemble",
    "IdealizedAD",
    "JetImageAutoencoder",
    "KDEMassDensity",
    "KFoldClassifier",
    "Log",
    "MLPEnsemble",
    "MinMaxLogit",
    "PFNClassifier",
    "ParticleFlowNetwork",
    "QuantileNormal",
    "Standardize",
    "Supervised",
    "ThresholdClassifier",
    "TrainingCurves",
    "assign_folds",
    "flow_check",
    "mlp_training_curves",
]

__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, globals())
