"""A grid of frames of the independent hand renderer with their true joints drawn.

    python scripts/plot_independent_hand.py [--out docs/figures/independent_hand_grid.png]
        [--seed 1] [--views sphere] [--per_view 4]

Per frame: the measured depth image cropped around the hand (near = yellow, far = blue over the
joints' depths ± 20 mm; no measurement = white), the 21 true joints and bones coloured by
finger (a hollow marker where the joint is hidden), and a title with the view class, pose kind, true roll and distance. The frames
are the first of the run that give `per_view` palm, back and side views of distinct pose kinds.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position
import matplotlib  # pylint: disable=wrong-import-position

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from independent_hand import names  # pylint: disable=wrong-import-position
from independent_hand import scene  # pylint: disable=wrong-import-position
from independent_hand import views  # pylint: disable=wrong-import-position

_OUT = flags.DEFINE_string("out", "docs/figures/independent_hand_grid.png", "Output PNG.")
_SEED = flags.DEFINE_integer("seed", 1, "Run seed.")
_VIEWS = flags.DEFINE_enum("views", "sphere", list(views.VIEW_MODES), "View mode.")
_PER_VIEW = flags.DEFINE_integer("per_view", 4, "Frames per view class (palm, back, side).")
_SUBJECTS = flags.DEFINE_integer("subjects", 6, "Subjects of the run.")

FINGER_COLOURS = {"thumb": "red", "index": "darkorange", "middle": "limegreen",
                  "ring": "deepskyblue", "little": "magenta"}
VIEW_CLASSES = ("palm", "back", "side")
CROP_MARGIN_PX = 25
DEPTH_MARGIN_MM = 20.0
MAX_FRAMES_SEARCHED = 500


def pick_frames(seed, per_view, num_subjects, view_mode):
  """The first frames of the run giving `per_view` frames of each view class, each class with
  distinct pose kinds."""
  chosen = {view: [] for view in VIEW_CLASSES}
  for index in range(MAX_FRAMES_SEARCHED):
    frame = scene.sample_frame(seed, index, num_subjects, view_mode, render=False)
    picked = chosen[frame.meta["view"]]
    if len(picked) < per_view and frame.pose.kind not in [f.pose.kind for _, f in picked]:
      picked.append((index, frame))
    if all(len(picked) == per_view for picked in chosen.values()):
      break
  return [index for view in VIEW_CLASSES for index, _ in chosen[view]]


def _draw_joints(ax, frame, offset):
  uv = frame.uv - offset
  for finger in names.FINGERS:
    chain = [names.WRIST] + list(names.FINGER_KEYPOINTS[finger])
    colour = FINGER_COLOURS[finger]
    ax.plot(uv[chain, 0], uv[chain, 1], "-", color=colour, lw=1.3)
    for k in chain[1:]:
      ax.plot(uv[k, 0], uv[k, 1], "o", ms=4, color=colour,
              mfc=colour if frame.visible[k] else "none", mew=1.0)
  ax.plot(uv[names.WRIST, 0], uv[names.WRIST, 1], "s", ms=5, color="black",
          mfc="black" if frame.visible[names.WRIST] else "none")


def _draw(ax, frame):
  # A square crop around the joints; colours span the joints' depths ± DEPTH_MARGIN_MM.
  centre = 0.5 * (frame.uv.min(axis=0) + frame.uv.max(axis=0))
  half = 0.5 * np.max(np.ptp(frame.uv, axis=0)) + CROP_MARGIN_PX
  low = np.maximum(np.floor(centre - half), 0).astype(int)
  high = np.minimum(np.ceil(centre + half), np.array(frame.depth.shape[::-1]) - 1).astype(int)
  crop = frame.depth[low[1]:high[1] + 1, low[0]:high[0] + 1]
  shown = np.ma.masked_where(crop <= 0, crop)
  cmap = plt.get_cmap("viridis_r").copy()
  cmap.set_bad("white")
  ax.imshow(shown, cmap=cmap, vmin=frame.xyz[:, 2].min() - DEPTH_MARGIN_MM,
            vmax=frame.xyz[:, 2].max() + DEPTH_MARGIN_MM)
  _draw_joints(ax, frame, low)
  ax.set_title(f"{frame.meta['view']}, {frame.pose.kind}, roll {frame.meta['roll_deg']:.0f}°, "
               f"{frame.meta['distance_mm']:.0f} mm", fontsize=8)
  ax.set_xticks([])
  ax.set_yticks([])


def main(argv):
  del argv
  indices = pick_frames(_SEED.value, _PER_VIEW.value, _SUBJECTS.value, _VIEWS.value)
  columns = _PER_VIEW.value
  rows = -(-len(indices) // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 3.4 * rows), squeeze=False)
  for ax, index in zip(axes.flat, indices):
    _draw(ax, scene.sample_frame(_SEED.value, index, _SUBJECTS.value, _VIEWS.value))
  for ax in axes.flat[len(indices):]:
    ax.axis("off")
  fig.suptitle(f"independent_hand, seed {_SEED.value}, views {_VIEWS.value}: frames "
               f"{indices}", fontsize=9)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
  fig.savefig(_OUT.value, dpi=110)
  print(f"wrote {_OUT.value} (frames {indices})")


if __name__ == "__main__":
  app.run(main)
