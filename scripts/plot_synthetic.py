"""A grid of synthetic frames with their true and HIM-like wrong labels.

    python scripts/plot_synthetic.py [--out=docs/figures/synthetic_grid.png] [--frames=6] \
        [--subjects=handid_like] [--seed=0] [--poses=prototypes|broad] [--views=frontal|sphere]

Per frame, on top: the depth image (camera view) cropped around the hand, with the true skeleton
(green), the HIM-like wrong labels (red crosses, joined to their joint) and the annotators' Lab-6
clicks (white circles; hollow where the keypoint is occluded). Below it: a side view of the
frame's back-projected point cloud (depth z to the right, image y down) with the same labels.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position
import matplotlib  # pylint: disable=wrong-import-position

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from handvol.data import synthetic  # pylint: disable=wrong-import-position
from handvol.data.synthetic import generator  # pylint: disable=wrong-import-position
from handvol.data.synthetic import poses  # pylint: disable=wrong-import-position
from handvol.data.synthetic import subjects  # pylint: disable=wrong-import-position
from handvol.hand import skeleton  # pylint: disable=wrong-import-position

TRUE_COLOUR = "limegreen"
WRONG_COLOUR = "red"
CLICK_COLOUR = "white"
CROP_MARGIN_PX = 40
COLUMNS = 3
SIDE_POINTS = 6000
"""Points drawn per side view (a random subset, for a light figure)."""

_OUT = flags.DEFINE_string("out", "docs/figures/synthetic_grid.png", "Output PNG.")
_FRAMES = flags.DEFINE_integer("frames", 6, "Frames in the grid.", lower_bound=1)
_SUBJECTS = flags.DEFINE_enum("subjects", "handid_like", sorted(subjects.SUBJECT_SETS),
                              "Subject set of the frames.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the frames and of the side views' points.")
_POSES = flags.DEFINE_enum("poses", "prototypes", sorted(poses.POSE_PRESETS),
                           "Articulation distribution (`poses.POSE_PRESETS`).")
_VIEWS = flags.DEFINE_enum("views", "frontal", sorted(poses.VIEW_PRESETS),
                           "Viewpoint distribution (`poses.VIEW_PRESETS`).")


def _bones(ax, points):
  for child, parent in enumerate(skeleton.KEYPOINT_PARENTS):
    if parent >= 0:
      ax.plot(points[[parent, child], 0], points[[parent, child], 1], "-", color=TRUE_COLOUR,
              lw=1.2)
  ax.plot(points[:, 0], points[:, 1], ".", color=TRUE_COLOUR, ms=4)


def _errors(ax, truth, wrong):
  for a, b in zip(truth, wrong):
    ax.plot([a[0], b[0]], [a[1], b[1]], "-", color=WRONG_COLOUR, lw=0.6)
  ax.plot(wrong[:, 0], wrong[:, 1], "x", color=WRONG_COLOUR, ms=4, mew=1.0)


def plot(frames, intrinsics, path, seed):
  grid_rows = 2 * -(-len(frames) // COLUMNS)
  fig, axes = plt.subplots(grid_rows, COLUMNS, figsize=(4.0 * COLUMNS, 3.6 * grid_rows),
                           squeeze=False)
  for ax in axes.flat:
    ax.axis("off")
  rng = np.random.default_rng(seed)
  fx, fy, cx, cy = intrinsics
  lab6 = list(skeleton.LAB6)
  for index, frame in enumerate(frames):
    row, column = 2 * (index // COLUMNS), index % COLUMNS
    top, side = axes[row, column], axes[row + 1, column]
    side.axis("on")
    depth = frame["depth"]
    rows, columns = np.nonzero(depth)
    shown = np.where(depth > 0, depth, np.nan)
    top.imshow(shown, cmap="viridis_r", interpolation="nearest")
    hand = frame["truth_uv"]
    top.set_xlim(hand[:, 0].min() - CROP_MARGIN_PX, hand[:, 0].max() + CROP_MARGIN_PX)
    top.set_ylim(hand[:, 1].max() + CROP_MARGIN_PX, hand[:, 1].min() - CROP_MARGIN_PX)
    _bones(top, frame["truth_uv"])
    _errors(top, frame["truth_uv"], frame["him_uv"])
    visible = frame["visible"][lab6] > 0
    clicks = frame["clicks_uv"][lab6]
    top.scatter(clicks[visible, 0], clicks[visible, 1], s=22, c=CLICK_COLOUR,
                edgecolors="black", linewidths=0.5, zorder=3)
    top.scatter(clicks[~visible, 0], clicks[~visible, 1], s=22, facecolors="none",
                edgecolors=CLICK_COLOUR, linewidths=1.0, zorder=3)
    top.set_title(f"subject {frame['subject']}, z ≈ {frame['truth_xyz'][:, 2].mean():.0f} mm",
                  fontsize=8)

    z = depth[rows, columns]
    cloud = np.stack([(columns - cx) * z / fx, (rows - cy) * z / fy, z], axis=-1)
    near = np.linalg.norm(cloud - frame["truth_xyz"].mean(axis=0), axis=-1) < 200.0
    cloud = cloud[near]
    pick = rng.permutation(len(cloud))[:SIDE_POINTS]
    side.scatter(cloud[pick, 2], cloud[pick, 1], s=0.3, c="0.55", linewidths=0)
    _bones(side, frame["truth_xyz"][:, [2, 1]])
    _errors(side, frame["truth_xyz"][:, [2, 1]], frame["him_xyz"][:, [2, 1]])
    side.set_aspect("equal")
    side.invert_yaxis()
    side.set_xlabel("z (mm)", fontsize=7)
    side.tick_params(labelsize=6)
  fig.suptitle("Synthetic frames: true joints (green), HIM-like wrong labels (red ×), Lab-6 "
               "clicks (white; hollow = occluded);\nbelow each frame a side view of its point "
               "cloud", fontsize=10)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  fig.savefig(path, dpi=110)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = generator.make_config(_VIEWS.value, articulations=_POSES.value)
  frames = list(synthetic.generate_frames(_FRAMES.value, _SUBJECTS.value, _SEED.value, config))
  plot(frames, config.intrinsics, _OUT.value, _SEED.value)
  print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
