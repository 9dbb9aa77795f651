"""Benchmark: latency of the exported `serving_default` against the bare encoder.

One process exports a ResNet-18 (`HandPoseModel`, encoder width 64 unless `--encoder_width`)
twice into a temporary folder: the serving export of `handvol.export` and an archive whose
only endpoint is the encoder on a `[B, 128, 128, 1]` crop. Both are loaded back with
`tf.saved_model.load`, as a server would, and timed on the same inputs: 640×480 scene frames
of a person holding up a hand 10–40 cm in front of the body (`handvol.data.synthetic.scene`,
camera `realsense_sr300`, counts of 1/8 mm; the first `FRAMES` in which the localiser finds a
hand, tiled to the batch) for `serving_default` without a reference point (the localiser's
path), random crops of the same batch size for the encoder (its cost does not depend on the
content). Timings alternate between the calls (one of each per round), so that load from
other processes hits them alike; each figure is the median over `--repeats` rounds after
`--warmup` rounds, in wall-clock and in the process's CPU time (all threads; less sensitive to
the other jobs on a shared machine), and the minimum wall-clock (the least disturbed round).
Three more calls show where the extra time goes: `serving_default` with the reference point
given (`has_reference` 1: no localiser), the batched preprocessing alone
(`serving.preprocess_frames` in a `tf.function`, with the localiser and the shipped centre
refiner) and the localiser alone (`localize.localize_hands`, no refiner).

`serving_default` does, beyond the encoder: the localiser (connected components of a 4-pixel
grid by label propagation along row and column runs in a `tf.while_loop`, per-component
statistics, a mean shift), two
passes of the centre refiner (a 64×64 crop and a small CNN each), crop
and resampling, depth-unit conversion of the pixels these read, and forward kinematics. The
last line is one JSON object with `latency_ratio_b1` (serving_default / encoder at batch 1,
median wall-clock), `latency_ratio_b64`, the same from minima (`min_latency_ratio_b*`) and CPU
times (`cpu_ratio_b*`), `given_ratio_b*` (with a reference point), and the latencies in ms.

  python bench/inference.py [--repeats 30] [--batch_sizes 1,64]
"""

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np
import machine_info  # bench/machine_info.py, beside this script

FRAMES = 8
"""Distinct synthetic frames, tiled to fill a batch."""
SEED = 0


CAMERA = "realsense_sr300"
CANDIDATES = 32
"""Scene frames generated to find `FRAMES` in which the localiser finds the hand."""


def _frames():
  """`FRAMES` scene frames in which the localiser and the shipped centre refiner find a hand
  (the serving path): counts `[F, H, W]`, intrinsics `[F, 4]`, depth units `[F]`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol import pretrained  # pylint: disable=import-outside-toplevel
  from handvol.data.synthetic import scene  # pylint: disable=import-outside-toplevel
  from handvol.model import centre_refiner  # pylint: disable=import-outside-toplevel

  config = scene.SceneConfig(camera=CAMERA, body_prob=1.0, body_gap_mm=(100.0, 400.0),
                             no_hand_prob=0.0)
  frames = []
  for frame in scene.generate_scenes(CANDIDATES, config, seed=SEED):
    found = centre_refiner.locate_hands(pretrained.load_centre_refiner(),
                                        frame["counts"][np.newaxis].astype(np.float32),
                                        frame["intrinsics"][np.newaxis],
                                        tf.constant([frame["depth_unit_mm"]], tf.float32))
    if found["valid"].numpy()[0]:
      frames.append(frame)
    if len(frames) == FRAMES:
      break
  return (np.stack([f["counts"] for f in frames]).astype(np.float32),
          np.stack([f["intrinsics"] for f in frames]).astype(np.float32),
          np.array([f["depth_unit_mm"] for f in frames], np.float32))


def _exports(encoder_width, folder):
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol.export import export  # pylint: disable=import-outside-toplevel
  from handvol.export import serving  # pylint: disable=import-outside-toplevel
  from handvol.model import hand_pose_model  # pylint: disable=import-outside-toplevel

  keras.utils.set_random_seed(SEED)
  model = hand_pose_model.HandPoseModel(encoder_width=encoder_width)
  model({"depth_input": tf.zeros([1, 128, 128, 1]), "center_xyz": tf.zeros([1, 3])})
  served = tf.saved_model.load(export.export_model(model, folder, "handvol", 1))
  archive = keras.export.ExportArchive()
  archive.track(model.encoder)
  archive.add_endpoint("encoder", lambda crop: model.encoder(crop, training=False),
                       input_signature=[serving.crop_signature()[0]])
  encoder_path = os.path.join(folder, "encoder")
  archive.write_out(encoder_path, verbose=False)
  return served, tf.saved_model.load(encoder_path)


def _times(calls, warmup, repeats):
  """Per call, in alternating rounds: (median wall ms, minimum wall ms, median CPU ms)."""
  wall = [[] for _ in calls]
  cpu = [[] for _ in calls]
  for round_index in range(warmup + repeats):
    for index, call in enumerate(calls):
      start, start_cpu = time.perf_counter(), time.process_time()
      call()
      if round_index >= warmup:
        wall[index].append(1e3 * (time.perf_counter() - start))
        cpu[index].append(1e3 * (time.process_time() - start_cpu))
  return [(float(np.median(w)), float(np.min(w)), float(np.median(c)))
          for w, c in zip(wall, cpu)]


def _inputs(frames, batch, given):
  """The frame signature's inputs: the frames tiled to `batch`; with `given`, the reference
  point of each frame is the localiser's own, refined (so that both calls crop alike)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol import pretrained  # pylint: disable=import-outside-toplevel
  from handvol.model import centre_refiner  # pylint: disable=import-outside-toplevel

  depth, intrinsics, units = frames
  tiles = np.arange(batch) % len(depth)
  inputs = {"depth": tf.constant(depth[tiles]), "depth_unit_mm": tf.constant(units[tiles]),
            "intrinsics": tf.constant(intrinsics[tiles]), "reference_uvd": tf.zeros([batch, 3]),
            "has_reference": tf.zeros([batch])}
  if given:
    found = centre_refiner.locate_hands(pretrained.load_centre_refiner(), inputs["depth"],
                                        inputs["intrinsics"], inputs["depth_unit_mm"])
    inputs.update(reference_uvd=found["center_uvd"], has_reference=tf.ones([batch]))
  return inputs


def _batch_figures(batch, frames, served, encoder, args):
  """Times the calls of the module docstring at one batch size; returns the JSON figures."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol.export import serving  # pylint: disable=import-outside-toplevel
  from handvol.image import localize  # pylint: disable=import-outside-toplevel

  frame_signature = served.signatures["serving_default"]
  encoder_signature = encoder.signatures["serving_default"]
  preprocess = tf.function(lambda inputs: serving.preprocess_frames(**inputs))
  localise = tf.function(lambda inputs: localize.localize_hands(
      inputs["depth"], inputs["intrinsics"], inputs["depth_unit_mm"]))
  inputs, given = _inputs(frames, batch, False), _inputs(frames, batch, True)
  for case in (inputs, given):
    outputs = frame_signature(**case)
    if not np.all(outputs["valid"].numpy() == 1):
      raise SystemExit("a benchmark frame was flagged invalid; the timing would not be real")
  crops = tf.random.uniform([batch, 128, 128, 1], -1.0, 1.0, seed=SEED)
  frame, encoder_times, given_times, preprocess_times, localise_times = _times(
      [lambda: frame_signature(**inputs)["joints_xyz"].numpy(),
       lambda: encoder_signature(depth_input=crops)["output_0"].numpy(),
       lambda: frame_signature(**given)["joints_xyz"].numpy(),
       lambda: preprocess(inputs)["depth_input"].numpy(),
       lambda: localise(inputs)["center_uvd"].numpy()],
      args.warmup, args.repeats)
  ratios = [f / e for f, e in zip(frame, encoder_times)]
  print(f"batch {batch:3d}: serving_default {frame[0]:8.2f} ms (min {frame[1]:.2f}, CPU "
        f"{frame[2]:.2f}), encoder {encoder_times[0]:8.2f} ms (min {encoder_times[1]:.2f}, "
        f"CPU {encoder_times[2]:.2f}), ratio {ratios[0]:.3f} (min {ratios[1]:.3f}, CPU "
        f"{ratios[2]:.3f}); with a reference point {given_times[0]:.2f} ms; preprocessing "
        f"alone {preprocess_times[0]:.2f} ms; localiser alone {localise_times[0]:.2f} ms")
  return {f"serving_default_ms_b{batch}": round(frame[0], 3),
          f"encoder_ms_b{batch}": round(encoder_times[0], 3),
          f"serving_default_given_ms_b{batch}": round(given_times[0], 3),
          f"preprocess_ms_b{batch}": round(preprocess_times[0], 3),
          f"localizer_ms_b{batch}": round(localise_times[0], 3),
          f"latency_ratio_b{batch}": round(ratios[0], 4),
          f"min_latency_ratio_b{batch}": round(ratios[1], 4),
          f"cpu_ratio_b{batch}": round(ratios[2], 4),
          f"given_ratio_b{batch}": round(given_times[0] / encoder_times[0], 4)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
  parser.add_argument("--repeats", type=int, default=30)
  parser.add_argument("--warmup", type=int, default=5)
  parser.add_argument("--batch_sizes", default="1,64")
  parser.add_argument("--encoder_width", type=int, default=64)
  args = parser.parse_args()
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  frames = _frames()
  result = {"encoder_width": args.encoder_width, "frame_shape": list(frames[0].shape[1:]),
            "camera": CAMERA, "frames": len(frames[0]),
            "device": tf.config.list_physical_devices("GPU") and "GPU" or platform.processor()
            or "CPU", "cpu_count": os.cpu_count()}
  with tempfile.TemporaryDirectory() as folder:
    served, encoder = _exports(args.encoder_width, folder)
    for batch in (int(b) for b in args.batch_sizes.split(",")):
      result.update(_batch_figures(batch, frames, served, encoder, args))
  result["machine"] = machine_info.describe()
  print(machine_info.line())
  print(json.dumps(result))


if __name__ == "__main__":
  main()
