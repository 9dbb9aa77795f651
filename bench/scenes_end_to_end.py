"""A trained model end to end on scenes of a person: the localiser's crops against label-centred
crops of the same frames (issue 18's 1.15× and issue 19's 15 mm acceptance points).

    python bench/scenes_end_to_end.py [--checkpoint PATH] [--frames 60] [--seed 1000]
        [--cameras kinect_v1,...] [--refiner pretrained|none|PATH.keras] [--presence_passes N]

Scenes (`handvol.data.synthetic.scene`, held-out seeds from `--seed`) with a torso 10–40 cm
behind the hand, for each camera of `--cameras`. Each frame goes through the serving graph
(`handvol.export.serving.predict_frames`) twice with the same model (`--checkpoint`, default the
shipped pretrained model): without a reference point (the localiser and its centre refiner,
`--refiner`, with `--presence_passes`, find the hand: what a user gets) and with the true hand
centre as reference point (the mean of the 21 true joints, projected: "label-centred"). All-21
is the mean joint error (mm) against the 21 true joints; frames the localiser flags (`valid` 0,
"no_hand_found") are counted (`flagged_fraction`) and left out of both means: a user gets no
pose for them, not a wrong one. The last line is one JSON object with, per camera and over all,
`all21_mm_localized`, `all21_mm_label_centred`, their `ratio`, `flagged_fraction`, and the
machine.
"""

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

from handvol import pretrained  # pylint: disable=wrong-import-position
from handvol.data.synthetic import scene  # pylint: disable=wrong-import-position
from handvol.data.synthetic import sensor  # pylint: disable=wrong-import-position
from handvol.export import export  # pylint: disable=wrong-import-position
from handvol.export import serving  # pylint: disable=wrong-import-position
from handvol.geometry import camera  # pylint: disable=wrong-import-position
from handvol.model import centre_refiner  # pylint: disable=wrong-import-position
from handvol.model import hand_pose_model  # pylint: disable=wrong-import-position
import machine_info  # pylint: disable=wrong-import-position,import-error

BATCH = 16
BODY = dict(body_prob=1.0, body_gap_mm=(100.0, 400.0), no_hand_prob=0.0)


def _parse_args():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--checkpoint", default=pretrained.CHECKPOINT)
  parser.add_argument("--frames", type=int, default=60, help="Frames per camera.")
  parser.add_argument("--seed", type=int, default=1000)
  parser.add_argument("--cameras", default=",".join(sensor.CAMERAS))
  parser.add_argument("--refiner", default="pretrained",
                      help='"pretrained" (shipped), "none", or a centre_refiner .keras file.')
  parser.add_argument("--presence_passes", type=int, default=centre_refiner.PRESENCE_PASSES,
                      help="The refiner's presence is the mean of the last N passes' "
                           "(centre_refiner.PRESENCE_PASSES; default: serving's).")
  parser.add_argument("--out", help="Optional path of a JSON file with the result.")
  return parser.parse_args()


def _predict(function, frames, given):
  """joints_xyz `[N, 21, 3]` and valid `[N]` of the frames, with the true centre as the
  reference point when `given`."""
  joints, valid = [], []
  for first in range(0, len(frames), BATCH):
    chunk = frames[first:first + BATCH]
    intrinsics = np.stack([f["intrinsics"] for f in chunk]).astype(np.float32)
    centre = np.stack([f["centre_xyz"] for f in chunk]).astype(np.float32)
    uvd = camera.xyz_to_uvd(centre, intrinsics)
    out = function(tf.constant(np.stack([f["counts"] for f in chunk]).astype(np.float32)),
                   tf.constant([f["depth_unit_mm"] for f in chunk], tf.float32),
                   tf.constant(intrinsics), uvd,
                   tf.fill([len(chunk)], 1.0 if given else 0.0))
    joints.append(out["joints_xyz"].numpy())
    valid.append(out["valid"].numpy())
  return np.concatenate(joints), np.concatenate(valid)


def _figures(frames, localized, centred):
  truth = np.stack([f["truth_xyz"] for f in frames])
  (joints_l, valid_l), (joints_c, valid_c) = localized, centred
  both = (valid_l == 1) & (valid_c == 1)
  error_l = np.linalg.norm(joints_l - truth, axis=-1).mean(axis=1)
  error_c = np.linalg.norm(joints_c - truth, axis=-1).mean(axis=1)
  mean_l, mean_c = float(error_l[both].mean()), float(error_c[both].mean())
  return {"all21_mm_localized": round(mean_l, 2), "all21_mm_label_centred": round(mean_c, 2),
          "ratio": round(mean_l / mean_c, 3),
          "median_all21_mm_localized": round(float(np.median(error_l[both])), 2),
          "flagged_fraction": round(float(np.mean(valid_l == 0)), 4),
          "frames": len(frames), "frames_scored": int(both.sum())}


def main():
  args = _parse_args()
  model = hand_pose_model.load_checkpoint(args.checkpoint)
  cube_mm = export.cube_from_workdir(args.checkpoint)
  centre_refiner.PRESENCE_PASSES = args.presence_passes
  refiner = {"pretrained": serving.DEFAULT_REFINER, "none": None}.get(args.refiner)
  if refiner is None and args.refiner != "none":
    refiner = keras.saving.load_model(args.refiner, compile=False)
  function = tf.function(
      lambda *inputs: serving.predict_frames(model, *inputs, cube_mm=cube_mm, refiner=refiner),
      input_signature=serving.frame_signature(tf.float32))
  result, everything = {"checkpoint": args.checkpoint, "cube_mm": cube_mm,
                        "refiner": args.refiner,
                        "presence_passes": args.presence_passes}, []
  for camera in args.cameras.split(","):
    frames = list(scene.generate_scenes(args.frames, scene.SceneConfig(camera=camera, **BODY),
                                        seed=args.seed))
    frames = [f for f in frames if f["has_hand"]]
    outputs = (_predict(function, frames, False), _predict(function, frames, True))
    result[camera] = _figures(frames, *outputs)
    everything.append((frames, outputs))
    print(f"{camera:16s} All-21 localised {result[camera]['all21_mm_localized']:6.2f} mm, "
          f"label-centred {result[camera]['all21_mm_label_centred']:6.2f} mm, ratio "
          f"{result[camera]['ratio']:.3f}, flagged {result[camera]['flagged_fraction']:.1%}",
          flush=True)
  frames = [f for fs, _ in everything for f in fs]
  merged = [tuple(np.concatenate([o[i][k] for _, o in everything]) for k in (0, 1))
            for i in (0, 1)]
  result["all"] = _figures(frames, *merged)
  print(f"all cameras      All-21 localised {result['all']['all21_mm_localized']:.2f} mm, "
        f"label-centred {result['all']['all21_mm_label_centred']:.2f} mm, ratio "
        f"{result['all']['ratio']:.3f}, flagged {result['all']['flagged_fraction']:.1%}")
  result["machine"] = machine_info.describe()
  print(machine_info.line())
  if args.out:
    with open(args.out, "w", encoding="utf-8") as f:
      json.dump(result, f, indent=1)
  print(json.dumps(result))


if __name__ == "__main__":
  main()
