"""How often the hand localiser finds the hand in synthetic scenes, per camera model.

    python bench/localize.py [--frames 100] [--seed 1000] [--cameras kinect_v1,...] \
        [--refiner pretrained|none|PATH.keras] [--passes N] [--mirrored 0|1]
        [--presence_passes N] [--presence_threshold T]
        [--min_hand_area_mm2 A] [--min_support_mm2 S] [--conditions body_10_40,...]

Scenes (`handvol.data.synthetic.scene`) from the seeds `--seed` onwards (the localiser was
tuned on seeds below 1000 only), for every camera of `sensor.CAMERAS` and four conditions (the
issue's three, then one beyond it):

- "body_10_40": a person whose torso front is 10–40 cm behind the hand's centre (tables and
  walls by their default chances);
- "no_body": the hand and its forearm alone, nothing behind;
- "no_hand": frames without a hand (a person with hanging arms by the default chance, tables
  and walls);
- "arm_towards_camera": the forearm comes towards the camera and its end is the nearest object,
  no body behind (a camera beside the person's head; `SceneConfig.arm_towards_camera_prob`).

"localizer" is what the serving graph does: `centre_refiner.locate_hands`, the localiser
followed by the centre refiner (`--refiner`: the shipped one by default; "none" for the
localiser alone); "localizer_alone" is the localiser without it, on the same frames.

For frames with a hand: `hit_rate_30mm`, the share of frames whose reference point (the
localiser's "center_xyz", `valid` 1) lies within 30 mm of the true hand centre (the mean of the
21 true joints), the same over hands wholly inside the image (`hit_rate_30mm_inside`) and over
hands of which the camera measured at least half the rendered pixels (`hit_rate_30mm_measured`:
the rest lie in a sensor's shadow or blind band), the median error (mm), the share of misses
flagged `valid` 0 and the count of those not flagged (`misses_kept`: a wrong point given as a
hand), and the same by the hand's depth (`by_distance`: hit rate, mean and spread of the signed
error per axis). For frames without one: `no_hand_flagged`, the share with `valid` 0
(`misses_kept`, the count without). The depth-only centre (`preprocess.centers_from_depth`,
which is always "valid") is scored on the same frames, and so is an oracle that knows the hand's
pixels from the renderer (their 3D centroid, half a palm deeper: the ceiling of any
segment-then-average method against this truth). `hit_rate_60mm` is the looser figure: a
reference point that close still puts the whole hand in the 300 mm crop cube. The last line is
one JSON object with every figure, the worst camera's figures (with
`hit_rate_30mm_measured_<condition>`: the worst camera over the hands it measured at least half
of), the localiser's `misses_kept` over every camera and condition, the time per frame and the
machine.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

from handvol import pretrained  # pylint: disable=wrong-import-position

from handvol.data.synthetic import scene  # pylint: disable=wrong-import-position
from handvol.data.synthetic import sensor  # pylint: disable=wrong-import-position
from handvol.geometry import camera as camera_lib  # pylint: disable=wrong-import-position
from handvol.image import localize  # pylint: disable=wrong-import-position
from handvol.image import preprocess  # pylint: disable=wrong-import-position
from handvol.model import centre_refiner  # pylint: disable=wrong-import-position
import machine_info  # pylint: disable=wrong-import-position,import-error

HIT_MM = 30.0
DISTANCE_BINS_MM = (0.0, 500.0, 800.0, 1000.0, np.inf)
"""`by_distance`'s bins of the hand centre's depth (mm)."""
MEASURED_SHARE = 0.5
"""`hit_rate_30mm_measured` counts the frames whose hand the camera measured at least this
share of (`_measured_share`)."""
BATCH = 16
CONDITIONS = {
    "body_10_40": dict(body_prob=1.0, body_gap_mm=(100.0, 400.0), no_hand_prob=0.0),
    "no_body": dict(body_prob=0.0, table_prob=0.0, wall_prob=0.0, no_hand_prob=0.0),
    "no_hand": dict(no_hand_prob=1.0),
    "arm_towards_camera": dict(arm_towards_camera_prob=1.0, no_hand_prob=0.0),
}
"""`SceneConfig` overrides per condition."""


def _parse_args():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--frames", type=int, default=100, help="Frames per camera and condition.")
  parser.add_argument("--seed", type=int, default=1000)
  parser.add_argument("--cameras", default=",".join(sensor.CAMERAS))
  parser.add_argument("--refiner", default="pretrained",
                      help='"pretrained" (shipped), "none", or a centre_refiner .keras file.')
  parser.add_argument("--passes", type=int, default=centre_refiner.ITERATIONS,
                      help="The refiner's passes (default: serving's).")
  parser.add_argument("--presence_passes", type=int, default=centre_refiner.PRESENCE_PASSES,
                      help="The presence is the mean of the last N passes' "
                           "(centre_refiner.PRESENCE_PASSES; default: serving's).")
  parser.add_argument("--mirrored", type=int, choices=(0, 1),
                      default=int(centre_refiner.MIRRORED),
                      help="1: each pass averages the refiner on the crop and its mirror "
                           "(centre_refiner.MIRRORED; default: serving's).")
  parser.add_argument("--presence_threshold", type=float,
                      default=centre_refiner.PRESENCE_THRESHOLD,
                      help="The refiner's presence threshold (default: serving's).")
  parser.add_argument("--min_hand_area_mm2", type=float, default=localize.HAND_AREA_MM2[0],
                      help="The localiser's smallest near-region area (default: serving's).")
  parser.add_argument("--min_support_mm2", type=float, default=centre_refiner.MIN_SUPPORT_MM2,
                      help="Surface a refined point needs near it (default: serving's; 0: none).")
  parser.add_argument("--conditions", default=",".join(CONDITIONS),
                      help="Comma-separated names of CONDITIONS.")
  parser.add_argument("--out", help="Optional path of a JSON file with the result.")
  args = parser.parse_args()
  unknown = set(args.conditions.split(",")) - set(CONDITIONS)
  if unknown:
    parser.error(f"unknown conditions {sorted(unknown)}; choose from {list(CONDITIONS)}")
  return args


REFINER = None
PASSES = centre_refiner.ITERATIONS
"""The refiner that `_localise` uses and its passes (set by `main`)."""


@tf.function(reduce_retracing=True)
def _localise(counts, intrinsics, unit):
  return centre_refiner.locate_hands(REFINER, counts, intrinsics, unit, iterations=PASSES)


@tf.function(reduce_retracing=True)
def _depth_only(counts, intrinsics, unit):
  return preprocess.centers_from_depth(counts, intrinsics, depth_unit_mm=unit)


def _run(frames):
  """Both methods on a list of scene frames: (localiser outputs, depth-only xyz, seconds per
  frame of the localiser)."""
  outputs, baseline, seconds = [], [], 0.0
  for first in range(0, len(frames), BATCH):
    chunk = frames[first:first + BATCH]
    counts = tf.constant(np.stack([f["counts"] for f in chunk]))
    intrinsics = tf.constant(np.stack([f["intrinsics"] for f in chunk]))
    unit = tf.constant([f["depth_unit_mm"] for f in chunk], tf.float32)
    _localise(counts, intrinsics, unit)  # Traced and warm before timing.
    start = time.perf_counter()
    result = _localise(counts, intrinsics, unit)
    seconds += time.perf_counter() - start
    outputs.append({k: v.numpy() for k, v in result.items()})
    uvd = _depth_only(counts, intrinsics, unit)
    baseline.append(camera_lib.uvd_to_xyz(uvd, intrinsics).numpy())
  merged = {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}
  return merged, np.concatenate(baseline), seconds / len(frames)


def _measured_share(frame):
  """The share of the hand's rendered pixels that the camera measured (0 without a hand): the
  rest fell into the sensor's shadows and blind bands, holes, or outside its range."""
  hand = np.isin(frame["part"], scene.HAND_PARTS)
  return float(np.mean(frame["depth"][hand] > 0)) if hand.any() else 0.0


def _score(frames, xyz, valid):
  """Figures of one method on one set of frames."""
  has_hand = np.array([f["has_hand"] for f in frames])
  if not has_hand.any():
    return {"no_hand_flagged": round(float(np.mean(valid == 0)), 4),
            "misses_kept": int(np.sum(valid == 1)), "frames": len(frames)}
  truth = np.stack([f["centre_xyz"] for f in frames])
  error = np.linalg.norm(xyz - truth, axis=1)
  hit = (error <= HIT_MM) & (valid == 1)
  inside = np.array([f["inside"] == 1.0 for f in frames])
  measured = np.array([_measured_share(f) >= MEASURED_SHARE for f in frames])
  return {"hit_rate_30mm": round(float(hit.mean()), 4),
          "hit_rate_60mm": round(float(np.mean((error <= 2 * HIT_MM) & (valid == 1))), 4),
          "hit_rate_30mm_inside": round(float(hit[inside].mean()), 4) if inside.any() else None,
          "hit_rate_30mm_measured": (round(float(hit[measured].mean()), 4) if measured.any()
                                     else None),
          "frames_measured": int(measured.sum()),
          "median_error_mm": round(float(np.median(error)), 1),
          "misses_flagged": round(float(np.mean(valid[~hit] == 0)), 4) if (~hit).any() else None,
          "misses_kept": int(np.sum(~hit & (valid == 1))),
          "frames": len(frames), "frames_inside": int(inside.sum()),
          "by_distance": by_distance(truth, xyz, valid)}


def by_distance(truth, xyz, valid):
  """Hit rates and signed errors per bin of the hand's depth (`DISTANCE_BINS_MM`).

  Args:
    truth: `[N, 3]` true hand centres, mm (camera frame).
    xyz: `[N, 3]` a method's reference points, mm.
    valid: `[N]` the method's `valid` (0 or 1).

  Returns:
    A list, one dict per bin that holds frames: "depth_mm" [low, high] (null for no upper
    bound), "frames", "hit_rate_30mm", and over the valid points within `2 * HIT_MM` of the
    truth (gross misses left out) "mean_error_xyz_mm" and "sd_error_xyz_mm" `[3]` of
    xyz − truth: where the hits are lost, across the image or along the ray.
  """
  error = xyz - truth
  distance = np.linalg.norm(error, axis=1)
  hit = (distance <= HIT_MM) & (valid == 1)
  near = (distance <= 2 * HIT_MM) & (valid == 1)
  rows = []
  for low, high in zip(DISTANCE_BINS_MM[:-1], DISTANCE_BINS_MM[1:]):
    inside = (truth[:, 2] >= low) & (truth[:, 2] < high)
    if not inside.any():
      continue
    close = inside & near
    rows.append({
        "depth_mm": [low, None if np.isinf(high) else high], "frames": int(inside.sum()),
        "hit_rate_30mm": round(float(hit[inside].mean()), 4),
        "mean_error_xyz_mm": ([round(float(x), 1) for x in error[close].mean(axis=0)]
                              if close.any() else None),
        "sd_error_xyz_mm": ([round(float(x), 1) for x in error[close].std(axis=0)]
                            if close.any() else None)})
  return rows


def _hand_pixel_centroids(frames):
  """An oracle that knows which measured pixels are the hand's (the renderer's part labels):
  their 3D centroid, `SURFACE_TO_CENTRE_MM` deeper; `[N, 3]` mm and whether it exists `[N]`."""
  centres, exists = [], []
  for frame in frames:
    point, pixels = scene.seen_centre(frame, scene.HAND_PARTS, "depth")
    exists.append(pixels > 0)
    centres.append(point + [0.0, 0.0, localize.SURFACE_TO_CENTRE_MM] if pixels
                   else np.zeros(3))
  return np.stack(centres), np.array(exists, np.int32)


def _condition(camera_name, condition, args):
  """Scores of the localiser, the depth-only centre and the hand-pixel oracle, and the
  localiser's seconds per frame."""
  config = scene.SceneConfig(camera=camera_name, **CONDITIONS[condition])
  frames = list(scene.generate_scenes(args.frames, config, seed=args.seed))
  outputs, baseline, seconds = _run(frames)
  ones = np.ones(len(frames), np.int32)
  alone_xyz = camera_lib.uvd_to_xyz(outputs["localizer_uvd"],
                                    np.stack([f["intrinsics"] for f in frames])).numpy()
  alone_valid = (outputs["valid"] > 0) | (outputs["reason"] == centre_refiner.REASONS.index(
      "rejected_by_refiner"))
  return (_score(frames, outputs["center_xyz"], outputs["valid"]),
          _score(frames, alone_xyz, alone_valid.astype(np.int32)),
          _score(frames, baseline, ones), _score(frames, *_hand_pixel_centroids(frames)),
          seconds)


def _worst(results, conditions):
  """The worst camera's figures of each condition that ran."""
  worst = {}
  for condition in conditions:
    key = "no_hand_flagged" if condition == "no_hand" else "hit_rate_30mm"
    name = key if condition == "no_hand" else f"{key}_{condition}"
    worst[name] = min(r[condition][key] for r in results["localizer"].values())
    if condition != "no_hand":
      # Over the hands each camera measured at least `MEASURED_SHARE` of: what a localiser can
      # reach at all (a hand in a sensor's blind band has no depth to find).
      measured = [r[condition]["hit_rate_30mm_measured"] for r in results["localizer"].values()
                  if r[condition]["hit_rate_30mm_measured"] is not None]
      worst[f"hit_rate_30mm_measured_{condition}"] = min(measured) if measured else None
  if "body_10_40" in conditions:
    worst.update({f"{method}_hit_rate_30mm_body_10_40": min(
        r["body_10_40"]["hit_rate_30mm"] for r in results[method].values())
                  for method in ("localizer_alone", "depth_only", "hand_pixel_oracle")})
  return worst


def main():
  args = _parse_args()
  global REFINER, PASSES  # pylint: disable=global-statement
  PASSES = args.passes
  # Read by `refine_centres` when `_localise` is traced, which is after this.
  centre_refiner.PRESENCE_THRESHOLD = args.presence_threshold
  centre_refiner.MIRRORED = bool(args.mirrored)
  centre_refiner.PRESENCE_PASSES = args.presence_passes
  localize.HAND_AREA_MM2 = (args.min_hand_area_mm2, localize.HAND_AREA_MM2[1])
  centre_refiner.MIN_SUPPORT_MM2 = args.min_support_mm2
  if args.refiner == "pretrained":
    REFINER = pretrained.load_centre_refiner()
  elif args.refiner != "none":
    REFINER = keras.saving.load_model(args.refiner, compile=False)
  results = {"localizer": {}, "localizer_alone": {}, "depth_only": {}, "hand_pixel_oracle": {}}
  times = []
  for camera_name in args.cameras.split(","):
    for method in results.values():
      method[camera_name] = {}
    for condition in args.conditions.split(","):
      ours, alone, depth_only, oracle, seconds = _condition(camera_name, condition, args)
      results["localizer"][camera_name][condition] = ours
      results["localizer_alone"][camera_name][condition] = alone
      results["depth_only"][camera_name][condition] = depth_only
      results["hand_pixel_oracle"][camera_name][condition] = oracle
      times.append(seconds)
      print(f"{camera_name:16s} {condition:18s} localiser {ours}  alone {alone}  "
            f"depth-only {depth_only}", flush=True)
  worst = _worst(results, args.conditions.split(","))
  print(f"worst camera: {worst}; localiser {1e3 * np.mean(times):.1f} ms per frame "
        f"(batch {BATCH}, graph mode); {machine_info.line()}")
  kept = sum(r[c]["misses_kept"] for r in results["localizer"].values() for c in r)
  summary = {"worst_camera": worst, "misses_kept": kept, **results, "frames": args.frames,
             "seed": args.seed,
             "localizer_ms_per_frame": round(1e3 * float(np.mean(times)), 2),
             "batch": BATCH, "refiner": args.refiner, "passes": args.passes,
             "mirrored": bool(args.mirrored), "presence_passes": args.presence_passes,
             "presence_threshold": args.presence_threshold,
             "hand_area_mm2": list(localize.HAND_AREA_MM2),
             "min_support_mm2": args.min_support_mm2,
             "machine": machine_info.describe()}
  if args.out:
    pathlib.Path(args.out).write_text(json.dumps(summary, indent=1))
  print(json.dumps(summary))


if __name__ == "__main__":
  main()
