"""Peer benchmark: TensorBoard's Python EventFileLoader reading every event of a file.

Usage: python bench/tb_read_events.py FILE  -> prints one JSON line.
"""
import json
import sys
import time

import tensorboard
from tensorboard.backend.event_processing import event_file_loader

path = sys.argv[1]
t = time.perf_counter()
n = 0
for event in event_file_loader.EventFileLoader(path).Load():
    for v in event.summary.value:
        n += 1
dt = time.perf_counter() - t
print(json.dumps({"version": tensorboard.__version__, "events_per_s": n / dt, "events": n}))
