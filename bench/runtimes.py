"""Benchmark: the shipped model in TF (SavedModel), LiteRT and ONNX Runtime, batch 1.

One process exports the shipped pretrained model (`handvol.pretrained`) as a SavedModel,
converts `serving_default` and `predict_crop` to LiteRT and ONNX (`handvol.export.portable`)
and runs all three on the same inputs:

- parity: 32 scene frames (`handvol.data.synthetic.scene`, camera `realsense_d435`, seed
  `--seed`, a person 10–40 cm behind the hand in most), one batch through `serving_default`
  without reference points (the localiser's path); the largest difference of any joint
  coordinate from the SavedModel's, mm, and whether `valid` and `reason` agree;
- latency: batch 1 through `serving_default` (localiser, crop, network, hand model) on one
  640×480 frame, and through `predict_crop` (network and hand model) on its crop. Calls
  alternate between the runtimes round by round (load from other processes hits them alike);
  each figure is the median wall-clock over `--repeats` rounds after `--warmup`.

Every runtime uses `--threads` threads (default: the machine's cores; TF's own pools are left at
their defaults of the same size). The last line is one JSON object with `litert_max_diff_mm`,
`onnx_max_diff_mm`, `litert_latency_ratio` and `onnx_latency_ratio` (runtime / SavedModel,
`serving_default` at batch 1), the same for `predict_crop` (`*_crop_latency_ratio`), the
latencies in ms and the conversion times in s.

  python bench/runtimes.py [--repeats 30] [--seed 1000]
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
import machine_info  # bench/machine_info.py, beside this script

FRAMES = 32


def _parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=30)
  parser.add_argument("--warmup", type=int, default=5)
  parser.add_argument("--seed", type=int, default=1000)
  parser.add_argument("--threads", type=int, default=os.cpu_count())
  return parser.parse_args()


def frame_inputs(seed, count=FRAMES):
  """`serving_default`'s inputs for `count` RealSense D435 scenes of `seed`, without
  reference points (the localiser's path)."""
  from handvol.data.synthetic import scene  # pylint: disable=import-outside-toplevel
  frames = list(scene.generate_scenes(count, scene.SceneConfig(camera="realsense_d435"),
                                      seed=seed))
  count = len(frames)
  return {"depth": np.stack([f["counts"] for f in frames]).astype(np.float32),
          "depth_unit_mm": np.array([f["depth_unit_mm"] for f in frames], np.float32),
          "intrinsics": np.stack([f["intrinsics"] for f in frames]).astype(np.float32),
          "reference_uvd": np.zeros((count, 3), np.float32),
          "has_reference": np.zeros(count, np.float32)}


def _callers(path, files, signature, threads):
  """name → function of numpy inputs returning numpy outputs, for the three runtimes."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol.export import portable  # pylint: disable=import-outside-toplevel
  function = tf.saved_model.load(path).signatures[signature]
  callers = {"saved_model": lambda inputs: {
      key: value.numpy()
      for key, value in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}}
  for runtime in portable.FORMATS:
    runner = portable.Runner(files[runtime][signature], num_threads=threads)
    callers[runtime] = lambda inputs, runner=runner: runner(**inputs)
  return callers


def _latencies(callers, inputs, warmup, repeats):
  """Median wall-clock ms per runtime, the calls alternating round by round."""
  times = {name: [] for name in callers}
  for round_index in range(warmup + repeats):
    for name, call in callers.items():
      start = time.perf_counter()
      call(inputs)
      if round_index >= warmup:
        times[name].append(1e3 * (time.perf_counter() - start))
  return {name: float(np.median(values)) for name, values in times.items()}


def main():
  args = _parse_args()
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol import pretrained  # pylint: disable=import-outside-toplevel
  from handvol.export import export  # pylint: disable=import-outside-toplevel
  from handvol.export import portable  # pylint: disable=import-outside-toplevel
  from handvol.export import serving  # pylint: disable=import-outside-toplevel

  result = {"frames": FRAMES, "seed": args.seed, "threads": args.threads}
  with tempfile.TemporaryDirectory() as folder:
    path = export.export_model(pretrained.load_pretrained(), folder, "handvol", 1)
    files, seconds = {}, {}
    for runtime in portable.FORMATS:
      start = time.perf_counter()
      files.update(portable.convert(path, [runtime],
                                    [export.SIGNATURE_FRAME, export.SIGNATURE_CROP]))
      seconds[runtime] = round(time.perf_counter() - start, 1)
    result["conversion_seconds"] = seconds
    inputs = frame_inputs(args.seed)
    frames = _callers(path, files, export.SIGNATURE_FRAME, args.threads)
    outputs = {name: call(inputs) for name, call in frames.items()}
    reference = outputs["saved_model"]
    result["valid_frames"] = int(reference["valid"].sum())
    for runtime in portable.FORMATS:
      out = outputs[runtime]
      result[f"{runtime}_max_diff_mm"] = float(np.max(np.abs(out["joints_xyz"]
                                                            - reference["joints_xyz"])))
      result[f"{runtime}_same_valid_and_reason"] = bool(
          np.array_equal(out["valid"], reference["valid"])
          and np.array_equal(out["reason"], reference["reason"]))
      print(f"{runtime:8s} max joint difference {result[f'{runtime}_max_diff_mm']:.5f} mm "
            f"on {FRAMES} frames; valid and reason equal: "
            f"{result[f'{runtime}_same_valid_and_reason']}", flush=True)

    one = {key: value[:1] for key, value in inputs.items()}
    crops = serving.preprocess_frames(**{k: tf.constant(v) for k, v in one.items()})
    crop = {key: crops[key].numpy() for key in serving.CROP_INPUT_KEYS}
    for label, signature, batch in (("", export.SIGNATURE_FRAME, one),
                                    ("crop_", export.SIGNATURE_CROP, crop)):
      callers = _callers(path, files, signature, args.threads)
      latency = _latencies(callers, batch, args.warmup, args.repeats)
      for name, value in latency.items():
        result[f"{name}_{label}latency_ms"] = round(value, 2)
      for runtime in portable.FORMATS:
        ratio = latency[runtime] / latency["saved_model"]
        result[f"{runtime}_{label}latency_ratio"] = round(ratio, 3)
      print(f"{signature:16s} batch 1: " + ", ".join(
          f"{name} {value:.1f} ms" for name, value in latency.items()), flush=True)
  result["machine"] = machine_info.describe()
  print(machine_info.line())
  print(json.dumps(result))


if __name__ == "__main__":
  main()
