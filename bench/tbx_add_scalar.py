"""Peer benchmark: tensorboardX's SummaryWriter.add_scalar, timed the way bench/sdk_write.rs times runboard.

Usage: python bench/tbx_add_scalar.py CALLS  -> prints one JSON line.
"""
import json
import statistics
import sys
import tempfile
import time

import tensorboardX
from tensorboardX import SummaryWriter

calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
block = 100
tags = ["train/loss", "train/acc", "train/lr", "grad_norm"]
with tempfile.TemporaryDirectory() as d:
    w = SummaryWriter(d)
    per_call = []
    t0 = time.perf_counter()
    step = 0
    for _ in range(calls // block):
        t = time.perf_counter_ns()
        for i in range(block):
            w.add_scalar(tags[i % 4], step * 1e-3, step)
            step += 1
        per_call.append((time.perf_counter_ns() - t) / block)
    w.close()
    e2e = calls / (time.perf_counter() - t0)
print(json.dumps({"version": tensorboardX.__version__, "median_ns": statistics.median(per_call), "e2e_per_s": e2e}))
