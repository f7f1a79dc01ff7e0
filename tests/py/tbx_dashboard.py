"""Writes, with the real tensorboardX and its defaults, the run the dashboard's browser test reads
(tests/browser.rs, tests/browser/tensorboard_user.mjs).

Usage: tbx_dashboard.py LOGDIR

Run `LOGDIR/tbx`:
- histograms `weights/normal` and `weights/exponential`, 10 steps of 2,000 values each, with
  tensorboardX's default `bins='tensorflow'` (about 600 log-spaced buckets, some 1e-13 wide);
- scalars: `final/accuracy` (ONE point), `gaps/lone` (a point between two NaN gaps),
  `scale/big` (around 1e6), `scale/small` (around 8e-4), `broken/nonfinite` (only NaN and ±Inf);
- kinds the dashboard does not draw: a PR curve (`pr/model`, plugin `pr_curves`, two steps) and
  a custom-scalars layout (plugin `custom_scalars`).

Deterministic (seeded); wall times are real.
"""

import math
import sys

import numpy as np
from tensorboardX import SummaryWriter


def main(logdir):
    rng = np.random.default_rng(12)
    w = SummaryWriter(f"{logdir}/tbx")
    for step in range(10):
        w.add_histogram("weights/normal", rng.normal(0.1 * step, 1.0, 2000), step)
        w.add_histogram("weights/exponential", rng.exponential(1.0 + 0.1 * step, 2000), step)
    w.add_scalar("final/accuracy", 0.9231, 7)
    for step, value in enumerate([1.0, 1.5, math.nan, 2.0, math.nan, 3.0, 3.5]):
        w.add_scalar("gaps/lone", value, step)
    for step in range(50):
        w.add_scalar("scale/big", 1.0e6 + 5.0e5 * math.sin(step / 8.0), step)
        w.add_scalar("scale/small", 8.0e-4 + 2.0e-4 * math.cos(step / 6.0), step)
    for step, value in enumerate([math.nan, math.inf, -math.inf, math.nan]):
        w.add_scalar("broken/nonfinite", value, step)
    for step in range(2):
        labels = rng.integers(0, 2, 100)
        predictions = np.clip(labels * 0.6 + rng.random(100) * 0.5, 0, 1)
        w.add_pr_curve("pr/model", labels, predictions, step)
    w.add_custom_scalars({"Scales": {"both": ["Multiline", ["scale/big", "scale/small"]]}})
    w.close()


if __name__ == "__main__":
    main(sys.argv[1])
