"""The scene frames where the shipped localiser and centre refiner miss the hand, drawn.

  python scripts/localize_misses.py [--camera realsense_d435] [--condition no_body] \
      [--seed 1000] [--frames 100] [--threshold_mm 30] \
      [--figure docs/figures/localize_misses_d435.png]

Renders `--frames` scenes of `bench/localize.py`'s `--condition` for one camera from `--seed`
(the same frames as the benchmark), runs `centre_refiner.locate_hands` with the shipped refiner,
prints every frame whose reference point is flagged or lies more than `--threshold_mm` (30, the
benchmark's hit radius) from the true hand centre (the mean of the 21 joints), with the error
per axis, and draws up to 6 of them: on top the depth around the hand (dark = near) with the
true joints (white dots) and the reference point (red ×); below, a side view (depth against
image height, mm) of the hand's measured pixels (black; the renderer's part labels), the true
joints (white-edged dots), the true centre (blue +) and the reference point (red ×). The side
view shows what the camera saw of the hand along the ray, which is what the reference point's
depth is made from.
"""

import pathlib
import sys

from absl import app
from absl import flags
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from handvol import pretrained  # pylint: disable=wrong-import-position
from handvol.data.synthetic import scene  # pylint: disable=wrong-import-position
from handvol.data.synthetic import sensor  # pylint: disable=wrong-import-position
from handvol.model import centre_refiner  # pylint: disable=wrong-import-position

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))
import localize as localize_bench  # pylint: disable=wrong-import-position,import-error

_CAMERA = flags.DEFINE_enum("camera", "realsense_d435", sorted(sensor.CAMERAS), "The camera.")
_CONDITION = flags.DEFINE_enum("condition", "no_body",
                               sorted(set(localize_bench.CONDITIONS) - {"no_hand"}),
                               "One of bench/localize.py's conditions with a hand.")
_SEED = flags.DEFINE_integer("seed", 1000, "The scenes' seed (the benchmark measures 1000).")
_FRAMES = flags.DEFINE_integer("frames", 100, "Frames rendered.")
_THRESHOLD = flags.DEFINE_float("threshold_mm", localize_bench.HIT_MM,
                                "A reference point farther than this from the truth is a miss.")
_FIGURE = flags.DEFINE_string("figure", None, "PNG of up to 6 missed frames.")
SHOWN = 6
HALF_WINDOW_MM = 130.0
"""Half the side of the depth window drawn around the true hand centre."""


def misses(frames, outputs, threshold_mm):
  """Indices of the frames whose reference point is flagged or more than `threshold_mm` off,
  flagged first, then the farthest first; and the error vectors `[N, 3]` (mm, reference point
  − truth)."""
  truth = np.stack([f["centre_xyz"] for f in frames])
  error = outputs["center_xyz"] - truth
  distance = np.linalg.norm(error, axis=1)
  missed = (distance > threshold_mm) | (outputs["valid"] == 0)
  order = np.argsort(-np.where(outputs["valid"] == 0, np.inf, distance))
  return [int(i) for i in order if missed[i]], error


def _draw(ax_top, ax_side, frame, point_xyz, index, error):
  fx, fy, cx, cy = frame["intrinsics"]
  centre, joints = frame["centre_xyz"], frame["truth_xyz"]
  half = int(np.ceil(HALF_WINDOW_MM * fx / centre[2]))
  u0 = int(round(fx * centre[0] / centre[2] + cx)) - half
  v0 = int(round(fy * centre[1] / centre[2] + cy)) - half
  depth = np.pad(frame["depth"], half)[v0 + half:v0 + 3 * half, u0 + half:u0 + 3 * half]
  ax_top.imshow(np.where(depth > 0, depth, np.nan), cmap="viridis")
  ax_top.plot(fx * joints[:, 0] / joints[:, 2] + cx - u0,
              fy * joints[:, 1] / joints[:, 2] + cy - v0, "w.", ms=4)
  ax_top.plot(fx * point_xyz[0] / point_xyz[2] + cx - u0,
              fy * point_xyz[1] / point_xyz[2] + cy - v0, "rx", ms=10, mew=2)
  ax_top.set_title(f"frame {index}: hand {centre[2]:.0f} mm away\noff by "
                   f"({error[0]:+.0f}, {error[1]:+.0f}, {error[2]:+.0f}) mm", fontsize=9)
  ax_top.set_xticks([])
  ax_top.set_yticks([])
  hand = np.isin(frame["part"], scene.HAND_PARTS) & (frame["depth"] > 0)
  rows, _ = np.nonzero(hand)
  z = frame["depth"][hand]
  ax_side.plot(z, (rows - cy) * z / fy, "k.", ms=1.5, label="measured hand pixels")
  ax_side.plot(joints[:, 2], joints[:, 1], "o", mfc="tab:orange", mec="w", ms=5,
               label="true joints")
  ax_side.plot(centre[2], centre[1], "b+", ms=12, mew=2, label="true centre")
  ax_side.plot(point_xyz[2], point_xyz[1], "rx", ms=10, mew=2, label="reference point")
  ax_side.invert_yaxis()
  ax_side.set_xlabel("depth (mm)")
  ax_side.set_ylabel("y (mm)")
  ax_side.set_aspect("equal", adjustable="datalim")


def main(argv):
  del argv
  localize_bench.REFINER = pretrained.load_centre_refiner()
  config = scene.SceneConfig(camera=_CAMERA.value,
                             **localize_bench.CONDITIONS[_CONDITION.value])
  frames = list(scene.generate_scenes(_FRAMES.value, config, seed=_SEED.value))
  outputs, _, _ = localize_bench._run(frames)  # pylint: disable=protected-access
  missed, error = misses(frames, outputs, _THRESHOLD.value)
  print(f"{_CAMERA.value}, {_CONDITION.value}, seed {_SEED.value}: {len(missed)} of "
        f"{len(frames)} frames missed (flagged or more than {_THRESHOLD.value:g} mm off)")
  for i in missed:
    reason = centre_refiner.REASONS[int(outputs["reason"][i])]
    print(f"  frame {i}: hand {frames[i]['centre_xyz'][2]:.0f} mm away, valid "
          f"{int(outputs['valid'][i])} ({reason}), off by {np.round(error[i], 1).tolist()} mm")
  if not _FIGURE.value or not missed:
    return
  shown = missed[:SHOWN]
  fig, axes = plt.subplots(2, len(shown), figsize=(max(3.2 * len(shown), 7.0), 6.8),
                           squeeze=False)
  for column, i in enumerate(shown):
    _draw(axes[0, column], axes[1, column], frames[i], outputs["center_xyz"][i], i, error[i])
  fig.legend(*axes[1, 0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8)
  fig.suptitle(f"{_CAMERA.value}, {_CONDITION.value}, seed {_SEED.value}: the missed frames",
               fontsize=10)
  fig.tight_layout(rect=(0, 0.05, 1, 1))
  fig.savefig(_FIGURE.value, dpi=90)
  print(f"wrote {_FIGURE.value}")


if __name__ == "__main__":
  app.run(main)
