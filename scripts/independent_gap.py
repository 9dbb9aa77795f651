"""Which of the independent renderer's differences costs a trained model its accuracy?

    python scripts/independent_gap.py [--workdir handvol/pretrained/sphere_cpu_long] \
        [--frames 200] [--seed 20261202] [--views sphere] [--variants NAME,...] [--out FILE]

A model trained on handvol's generator is 1.9× less accurate on `independent_hand`'s frames
than on the generator's (`docs/results/cpu_long`), although handvol's hand model can reach the
independent hands' joints to about 2 mm (`scripts/hand_model_reach.py`). This script renders the
same independent frames (same seed: the same subjects, poses, views and noise draws) once as
they are and once per variant with one of the renderer's differences from the generator
(`docs/independent_hand.md`, "How it differs") taken away, and reports the model's accuracy
on each (`bench/accuracy.py`'s report; crops centred on the labels):

- "tips on the skin": the fingertip labels moved `TIP_CAP_MM` (× the subject's scale) along the
  distal segment, from inside the pulp to the skin as the generator places them (labels only);
- "average subject": every subject's factors 1 (scale, finger thickness and lengths, palm
  width and thickness, forearm): one mid-sized hand;
- "round fingers": finger sections round (`SECTION_DEPTH_RATIO` 1) instead of flat;
- "clean depth": the renderer's z-buffer in whole mm, no sensor noise, offsets or losses;
- "forearm 260 mm": the generator's visible forearm length in every frame (instead of 110–320 mm);
- "one palm ellipsoid": the palm body, knuckle ridge and thenar and hypothenar eminences
  replaced by one flattened ellipsoid over the wrist and the finger bases, half-thickness 12.5
  mm, as the generator's palm (`ONE_PALM`; the carpus and the web stay);
- "all": all of them at once.

Every variant's joints stay inside its surface only as far as the renderer's own tests show
for the unchanged body; "one palm ellipsoid" covers the wrist, the thumb's base and the four
finger bases (checked by `tests/test_independent_gap_script.py`).

The as-rendered frames' All-21 is also broken down by pose kind, by where the fingers point
(towards the camera, away, across), by subject size and by distance (`views.json`). The last
line is one JSON object: per variant All-21 / Lab-6 / Unlab-15, aligned errors and palm flips,
the breakdown, and the machine.
"""

import contextlib
import dataclasses
import json
import os
import pathlib
import sys
import tempfile
import time
from unittest import mock

from absl import app
from absl import flags
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import accuracy  # pylint: disable=wrong-import-position,import-error
import machine_info  # pylint: disable=wrong-import-position,import-error
from handvol.evaluation import metrics  # pylint: disable=wrong-import-position
from handvol.model import hand_pose_model  # pylint: disable=wrong-import-position
from handvol.training import evaluate  # pylint: disable=wrong-import-position
from handvol.training import input_pipeline  # pylint: disable=wrong-import-position
from independent_hand import anatomy  # pylint: disable=wrong-import-position
from independent_hand import body as body_lib  # pylint: disable=wrong-import-position
from independent_hand import names  # pylint: disable=wrong-import-position
from independent_hand import raycast  # pylint: disable=wrong-import-position
from independent_hand import scene  # pylint: disable=wrong-import-position
from independent_hand import writer  # pylint: disable=wrong-import-position

CHANGES = ("tips on the skin", "average subject", "round fingers", "clean depth",
           "forearm 260 mm", "one palm ellipsoid")
VARIANTS = ("as rendered",) + CHANGES + ("all",)

_WORKDIR = flags.DEFINE_string("workdir", str(ROOT / "handvol" / "pretrained" / "sphere_cpu_long"),
                               "A training work directory (its best checkpoint is measured).")
_FRAMES = flags.DEFINE_integer("frames", 200, "Frames per variant.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 20261202, "The independent run's seed (bench/accuracy's).",
                             lower_bound=0)
_VIEWS = flags.DEFINE_enum("views", "sphere", ["sphere", "frontal"], "The renderer's views.")
_VARIANTS = flags.DEFINE_list("variants", list(VARIANTS), f"A subset of {VARIANTS}.")
_OUT = flags.DEFINE_string("out", None, "Optional JSON file for the result.")


ONE_PALM = {
    "palm": ((-1.0, 47.0, 0.0), (40.0, 48.0, 12.5), 0.0),
    "carpus": body_lib.PALM_ELLIPSOIDS["carpus"],
}
"""The "one palm ellipsoid" variant's `body.PALM_ELLIPSOIDS` (same format)."""


def _average_subject(seed, subject_id):
  del seed
  return anatomy.Subject(subject_id=int(subject_id), scale=1.0, finger_thickness=1.0,
                         palm_width=1.0, palm_thickness=1.0, forearm_thickness=1.0,
                         finger_length=(1.0,) * len(names.FINGERS))


def tips_on_skin(points, scale):
  """Keypoints `[21, 3]` (mm) with each fingertip moved to the skin along its distal segment."""
  points = np.array(points, dtype=float)
  for finger in names.FINGERS:
    tip = names.KEYPOINT_NAMES.index(f"{finger}_tip")
    direction = points[tip] - points[tip - 1]  # each finger's chain is consecutive
    points[tip] += anatomy.TIP_CAP_MM * scale * direction / np.linalg.norm(direction)
  return points


def _build_with_tips_on_skin(build):
  # The labels are moved before the hand is placed, so that the view keeps every label in the
  # image as the renderer's own placement does; the surface is untouched.
  def wrapped(subject, pose, forearm_length_mm):
    hand_body, points = build(subject, pose, forearm_length_mm)
    return hand_body, tips_on_skin(points, subject.scale)
  return wrapped


@contextlib.contextmanager
def _patched(changes):
  with contextlib.ExitStack() as stack:
    if "average subject" in changes:
      stack.enter_context(mock.patch.object(anatomy, "make_subject", _average_subject))
    if "round fingers" in changes:
      stack.enter_context(mock.patch.object(anatomy, "SECTION_DEPTH_RATIO", 1.0))
    if "tips on the skin" in changes:
      stack.enter_context(mock.patch.object(
          scene.body_lib, "build", _build_with_tips_on_skin(scene.body_lib.build)))
    if "one palm ellipsoid" in changes:
      stack.enter_context(mock.patch.object(body_lib, "PALM_ELLIPSOIDS", ONE_PALM))
    if "forearm 260 mm" in changes:
      stack.enter_context(mock.patch.object(scene, "FOREARM_LENGTH_MM", (260.0, 260.0)))
    yield


def render_variant(folder, changes, num_frames, seed, views, camera=raycast.Camera()):
  """Writes the variant's capture folder (`changes` ⊆ `CHANGES`)."""
  frames = []
  with _patched(changes):
    for index in range(num_frames):
      frame = scene.sample_frame(seed, index, 6, views, camera)
      if "clean depth" in changes:
        frame = dataclasses.replace(frame, depth=np.rint(frame.clean))
      frames.append(frame)
  writer.write_folder(folder, frames, camera, {"seed": seed, "views": views, "subjects": 6,
                                               "changes": list(changes)})


GROUPS = {
    "pose": lambda view: view["pose"],
    "fingers_towards_camera": lambda view: (
        "away (cos < -0.6)" if view["fingers_towards_cos"] < -0.6 else
        "towards (cos > 0.6)" if view["fingers_towards_cos"] > 0.6 else "across"),
    "subject_scale": lambda view: f"{view['subject']['scale']:.2f}",
    "distance_mm": lambda view: f"{150 * int(view['distance_mm'] // 150)}-"
                                f"{150 * int(view['distance_mm'] // 150) + 150}",
}
"""Per-frame attributes of `views.json` that the as-rendered frames' errors are grouped by."""


def evaluate_folder(model, data_config, folder):
  """(`accuracy.orientation_report`, per-frame All-21 errors `[F]` mm) of a capture folder."""
  predicted, truth = accuracy.predict_source(
      model, data_config, input_pipeline.from_records(accuracy.independent_records(folder)))
  return (accuracy.orientation_report(predicted, truth),
          metrics.joint_errors(predicted, truth).mean(axis=-1))


def group_errors(frame_errors, views):
  """{group: {value: [mean All-21 mm, frames]}} of per-frame errors and `views.json` frames."""
  table = {}
  for group, key in GROUPS.items():
    values = np.array([key(view) for view in views])
    table[group] = {value: [float(frame_errors[values == value].mean()),
                            int(np.sum(values == value))] for value in sorted(set(values))}
  return table


def main(argv):
  del argv
  unknown = set(_VARIANTS.value) - set(VARIANTS)
  if unknown:
    raise app.UsageError(f"unknown variants {sorted(unknown)}; known: {VARIANTS}")
  workdir = pathlib.Path(_WORKDIR.value)
  data_config = accuracy.run_data_config(workdir)
  model = hand_pose_model.load_checkpoint(str(workdir / evaluate.CHECKPOINT))
  result = {"workdir": str(workdir), "frames": _FRAMES.value, "seed": _SEED.value,
            "views": _VIEWS.value, "variants": {}}
  with tempfile.TemporaryDirectory() as scratch:
    for variant in _VARIANTS.value:
      began = time.time()
      changes = {"as rendered": (), "all": CHANGES}.get(variant, (variant,))
      folder = os.path.join(scratch, variant.replace(" ", "_"))
      render_variant(folder, changes, _FRAMES.value, _SEED.value, _VIEWS.value)
      report, frame_errors = evaluate_folder(model, data_config, folder)
      result["variants"][variant] = report
      if variant == "as rendered":
        views = json.loads(pathlib.Path(folder, writer.VIEWS_FILE).read_text())["frames"]
        result["as_rendered_by_group"] = group_errors(frame_errors, views)
      print(f"{variant:18s} All-21 {report['all21_mm']:5.1f}  Lab-6 {report['lab6_mm']:5.1f}  "
            f"Unlab-15 {report['unlab15_mm']:5.1f}  offset removed "
            f"{report['all21_mm_translation_aligned']:5.1f}  rigid "
            f"{report['all21_mm_rigid_aligned']:5.1f} mm  palm flipped "
            f"{report['palm_flipped_pct']:4.1f} %  finger bases' depth bias "
            f"{report['depth_bias_mm']['finger_bases']:+.1f} mm  ({time.time() - began:.0f} s)",
            flush=True)
  for group, rows in result.get("as_rendered_by_group", {}).items():
    print(f"as rendered, by {group}: " + ",  ".join(
        f"{value} {mean:.1f} ({count})" for value, (mean, count) in rows.items()))
  result["machine"] = machine_info.describe()
  if _OUT.value:
    pathlib.Path(_OUT.value).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(_OUT.value).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
