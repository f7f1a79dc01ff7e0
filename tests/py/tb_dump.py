"""Prints, as one JSON document, what TensorBoard itself reads from a logdir (used by tests/interop.rs).

Usage: tb_dump.py LOGDIR

The data goes through TensorBoard's own loading path, the one `tensorboard --load_fast=false`
serves: `plugin_event_multiplexer.EventMultiplexer` (with every reservoir unbounded, so nothing
is sampled away) behind `MultiplexerDataProvider`, queried per plugin exactly as the scalars,
histograms, text, images and hparams plugins query it. The output:

    {"tensorboard": "2.21.0",
     "runs": ["run", ...],
     "scalars":    {run: {tag: [[step, wall_time, value], ...]}},
     "histograms": {run: {tag: [[step, wall_time, [[left, right, count], ...]], ...]}},
     "text":       {run: {tag: [[step, wall_time, ["markdown", ...]], ...]}},
     "images":     {run: {tag: [[step, wall_time, width, height, ["<png hex>", ...]], ...]}},
     "graphs":     {run: {tag: [[step, wall_time, ["<GraphDef hex>"]], ...]}},
     "custom_scalars": {run: {tag: [[step, wall_time, ["<Layout hex>"]], ...]}},
     "run_metadata": {run: {tag: [[step, wall_time, ["<RunMetadata hex>"]], ...]}},
     "pr_curves":  {run: {tag: [[step, wall_time, ["<[6, N] float32 LE hex>"]], ...]}},
     "audio":      {run: {tag: [[step, wall_time, ["<clip hex>", ...]], ...]}},
     "meshes":     {run: {tag: [[step, wall_time, ["<[B, N, 3] float32 LE hex>", "<MeshPluginData hex>"]], ...]}},
     "hparams":    {run: {tag: {"experiment": {"hparams": [...], "metrics": [...]}}
                              | {"session_start": {"hparams": {name: {"number"|"string"|"bool": v}},
                                                   "group_name": "...", "start_time_secs": t}}
                              | {"session_end": {"status": n, "end_time_secs": t}}}}}

Floats are written with Python's shortest round-trip repr; NaN and infinities, which JSON has no
literal for, as the strings "NaN", "Infinity" and "-Infinity" (as TensorBoard's HTTP API does).
"""

import json
import math
import os
import sys

from google.protobuf import struct_pb2

import tensorboard
from tensorboard import context
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing import plugin_event_accumulator as accumulator
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import plugin_data_pb2 as hparams_data
from tensorboard.util import tensor_util

EXPERIMENT = ""  # the multiplexer provider serves one experiment, with the empty id
EVERYTHING = 10**9  # `downsample` large enough to return every point


def num(x):
    """A float for JSON: itself when finite, else the string TensorBoard's API uses."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def load(logdir):
    # 0 means "keep every item" for each kind of data (no reservoir sampling).
    size_guidance = {kind: 0 for kind in accumulator.DEFAULT_SIZE_GUIDANCE}
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance=size_guidance, tensor_size_guidance={}
    )
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    return data_provider.MultiplexerDataProvider(multiplexer, logdir)


def hparam_value(v):
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        return {"number": num(v.number_value)}
    if kind == "string_value":
        return {"string": v.string_value}
    if kind == "bool_value":
        return {"bool": v.bool_value}
    return {"other": kind}


def hparams_entry(content):
    """An hparams summary's plugin content, parsed as the hparams plugin parses it (and as
    the bytes it holds, in hex)."""
    entry = hparams_parsed(content)
    entry["content_hex"] = content.hex()
    return entry


def hparams_parsed(content):
    data = hparams_data.HParamsPluginData.FromString(content)
    which = data.WhichOneof("data")
    if which == "experiment":
        e = hparams_metadata.parse_experiment_plugin_data(content)
        return {
            "experiment": {
                "hparams": [h.name for h in e.hparam_infos],
                "metrics": [m.name.tag for m in e.metric_infos],
            }
        }
    if which == "session_start_info":
        s = hparams_metadata.parse_session_start_info_plugin_data(content)
        return {
            "session_start": {
                "hparams": {k: hparam_value(v) for k, v in sorted(s.hparams.items())},
                "group_name": s.group_name,
                "start_time_secs": num(s.start_time_secs),
            }
        }
    if which == "session_end_info":
        e = hparams_metadata.parse_session_end_info_plugin_data(content)
        return {"session_end": {"status": e.status, "end_time_secs": num(e.end_time_secs)}}
    return {"unknown": which}


def dump(logdir):
    provider = load(logdir)
    ctx = context.RequestContext()
    common = dict(experiment_id=EXPERIMENT)
    out = {
        "tensorboard": tensorboard.__version__,
        "runs": sorted(r.run_name for r in provider.list_runs(ctx, **common)),
    }

    scalars = provider.read_scalars(
        ctx, plugin_name="scalars", downsample=EVERYTHING, **common
    )
    out["scalars"] = {
        run: {
            tag: [[d.step, num(d.wall_time), num(d.value)] for d in data]
            for tag, data in tags.items()
        }
        for run, tags in scalars.items()
    }

    histograms = provider.read_tensors(
        ctx, plugin_name="histograms", downsample=EVERYTHING, **common
    )
    out["histograms"] = {
        run: {
            tag: [
                [d.step, num(d.wall_time), [[num(x) for x in row] for row in d.numpy.tolist()]]
                for d in data
            ]
            for tag, data in tags.items()
        }
        for run, tags in histograms.items()
    }

    texts = provider.read_tensors(ctx, plugin_name="text", downsample=EVERYTHING, **common)
    out["text"] = {
        run: {
            tag: [
                [d.step, num(d.wall_time), [s.decode("utf-8") for s in d.numpy.reshape(-1)]]
                for d in data
            ]
            for tag, data in tags.items()
        }
        for run, tags in texts.items()
    }

    images = provider.read_blob_sequences(
        ctx, plugin_name="images", downsample=EVERYTHING, **common
    )
    out["images"] = {}
    for run, tags in images.items():
        out["images"][run] = {}
        for tag, data in tags.items():
            rows = []
            for d in data:
                blobs = [provider.read_blob(ctx, blob_key=b.blob_key) for b in d.values]
                width, height = int(blobs[0]), int(blobs[1])
                rows.append([d.step, num(d.wall_time), width, height, [b.hex() for b in blobs[2:]]])
            out["images"][run][tag] = rows

    for key, plugin in [
        ("graphs", "graphs"),
        ("run_metadata", "graph_tagged_run_metadata"),
        ("audio", "audio"),
    ]:
        blobs = provider.read_blob_sequences(
            ctx, plugin_name=plugin, downsample=EVERYTHING, **common
        )
        out[key] = {
            run: {
                tag: [
                    [d.step, num(d.wall_time), [provider.read_blob(ctx, blob_key=b.blob_key).hex() for b in d.values]]
                    for d in data
                ]
                for tag, data in tags.items()
            }
            for run, tags in blobs.items()
        }

    # TensorBoard 2.21 shows nothing of a meta graph (`Event.meta_graph_def`); its own event
    # file loader reads the bytes, which runboard keeps under "__meta_graph__".
    out["meta_graphs"] = {}
    for dirpath, _, files in sorted(os.walk(logdir)):
        for name in sorted(f for f in files if "tfevents" in f):
            run = os.path.relpath(dirpath, logdir)
            for ev in event_file_loader.EventFileLoader(os.path.join(dirpath, name)).Load():
                if ev.HasField("meta_graph_def"):
                    rows = out["meta_graphs"].setdefault(run, {}).setdefault("__meta_graph__", [])
                    rows.append([ev.step, num(ev.wall_time), [ev.meta_graph_def.hex()]])

    curves = provider.read_tensors(
        ctx, plugin_name="pr_curves", downsample=EVERYTHING, **common
    )
    out["pr_curves"] = {
        run: {
            tag: [[d.step, num(d.wall_time), [d.numpy.astype("<f4").tobytes().hex()]] for d in data]
            for tag, data in tags.items()
        }
        for run, tags in curves.items()
    }

    meshes = provider.read_tensors(ctx, plugin_name="mesh", downsample=EVERYTHING, **common)
    mesh_metadata = provider.list_tensors(ctx, plugin_name="mesh", **common)
    out["meshes"] = {
        run: {
            tag: [
                [
                    d.step,
                    num(d.wall_time),
                    [
                        d.numpy.astype("<f4").tobytes().hex(),
                        mesh_metadata[run][tag].plugin_content.hex(),
                    ],
                ]
                for d in data
            ]
            for tag, data in tags.items()
        }
        for run, tags in meshes.items()
    }

    layouts = provider.read_tensors(
        ctx, plugin_name="custom_scalars", downsample=EVERYTHING, **common
    )
    out["custom_scalars"] = {
        run: {
            tag: [[d.step, num(d.wall_time), [d.numpy.item().hex()]] for d in data]
            for tag, data in tags.items()
        }
        for run, tags in layouts.items()
    }

    hparams = provider.list_tensors(ctx, plugin_name="hparams", **common)
    out["hparams"] = {
        run: {tag: hparams_entry(series.plugin_content) for tag, series in tags.items()}
        for run, tags in hparams.items()
    }
    return out


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: tb_dump.py LOGDIR")
    json.dump(dump(argv[1]), sys.stdout, allow_nan=False, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
