"""Training time of the jet-image autoencoder on each torch device: CUDA against the CPU (issue 16).

Trains :class:`bumphunt.methods.JetImageAutoencoder` with the settings of ``bumphunt interpret``
(:class:`bumphunt.interpretable.InterpretPlan`'s defaults: 60 epochs, cosine schedule at 1e-2 after 2
warm-up epochs; a fifth held out for early stopping) on the
first ``--train`` background images of a jets cache of ``benchmarks/interpretable_ad.py`` (or any
``.npz`` with ``background/images``) and scores the next ``--test``. For each device it prints the wall
time, the time per epoch, the best validation loss and the mean test score; then the ADO between the
devices' scores on the test images (two trainings of the same seed differ only by floating-point order).
The CPU, the reference, may run fewer epochs (``--cpu-epochs``): the time per epoch is what compares.

Usage:
  python benchmarks/autoencoder_training.py --images jets_cache.npz [--train 12000] [--test 10000] \\
      [--epochs 60] [--cpu-epochs 60] [--devices cpu,cuda]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from bumphunt.interpretable import InterpretPlan
from bumphunt.methods.autoencoder import JetImageAutoencoder
from bumphunt.stats.ordering import average_decision_ordering

# the autoencoder settings of ``bumphunt interpret``
DEFAULTS = {field.name: field.default for field in dataclasses.fields(InterpretPlan)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", required=True, help="npz holding background/images (n, side, side)")
    parser.add_argument("--train", type=int, default=12_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=DEFAULTS["autoencoder_epochs"])
    parser.add_argument("--cpu-epochs", type=int, default=None, help="epochs on the CPU (default: --epochs)")
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with np.load(args.images) as data:
        images = data["background/images"]
    n = args.train + args.test
    if len(images) < n:
        raise SystemExit(f"{args.images}: {len(images)} background images, {n} needed")
    train, test = images[: args.train], images[args.train : n]
    print(
        f"{len(images)} images of {images.shape[1]}x{images.shape[2]} pixels; train {args.train} (a fifth "
        f"for early stopping), test {args.test}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads"
    )
    scores = {}
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            print("cuda: no CUDA device, skipped")
            continue
        epochs = args.cpu_epochs if device == "cpu" and args.cpu_epochs else args.epochs
        model = JetImageAutoencoder(
            max_epochs=epochs,
            schedule=DEFAULTS["autoencoder_schedule"],
            learning_rate=DEFAULTS["autoencoder_learning_rate"],
            warmup_epochs=DEFAULTS["autoencoder_warmup_epochs"],
            device=device,
            seed=args.seed,
        )
        start = time.perf_counter()
        model.fit(train)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        ran = len(model.history_.validation_loss)
        start = time.perf_counter()
        scores[device] = model.score(test)
        scoring = time.perf_counter() - start
        name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        print(
            f"{device} ({name}): {ran} epochs in {seconds:.1f} s, {seconds / ran:.2f} s/epoch; best "
            f"validation loss {min(model.history_.validation_loss):.4g}; mean test score "
            f"{scores[device].mean():.4g}; scoring {args.test} images {scoring:.2f} s"
        )
    if len(scores) == 2:
        first, second = scores.values()
        ado = average_decision_ordering(first, second)
        print(f"ADO between the devices' scores on the test images: {ado:.4f}")


if __name__ == "__main__":
    main()
