"""Evaluation figures: fraction-of-frames curves (the paper's Fig. 5), per-joint error bars, and
qualitative camera and side views (the paper's Fig. 6).

Figures are drawn on `matplotlib.figure.Figure` objects (the Agg canvas, no pyplot and no
global state) and saved to the given path; the format follows the path's suffix.
"""

import numpy as np
from matplotlib import figure

from handvol.evaluation import metrics
from handvol.geometry import camera

LABEL_COLOR = "tab:blue"
PREDICTION_COLORS = ("tab:green", "black", "tab:orange", "tab:red", "tab:purple", "tab:brown")
"""Fig. 6 draws the labels blue, our predictions green and another method black."""

MAX_CLOUD_POINTS = 5000
"""Side views draw at most this many depth points (an even subsample), to keep files small."""

DPI = 120


def _save(fig, path):
  fig.savefig(path, dpi=DPI)


def plot_frame_fractions(path, panels, thresholds=metrics.THRESHOLDS_MM):
  """Percentage of frames with maximum joint error ≤ T against T, one curve per method and a
  panel per protocol.

  Args:
    path: Output image file.
    panels: A dict panel title (e.g. "NYU test set: Match-11") → dict method name → array of
      shape `[T]`, percent (`metrics.fraction_within`).
    thresholds: An array of shape `[T]`, mm.

  Returns:
    The saved `matplotlib.figure.Figure`.
  """
  fig = figure.Figure(figsize=(5.5 * len(panels), 4.5), layout="constrained")
  for axes, (title, curves) in zip(fig.subplots(1, len(panels), squeeze=False)[0],
                                   panels.items()):
    for name, percent in curves.items():
      axes.plot(thresholds, percent, label=name, linewidth=1.8)
    axes.set_xlim(thresholds[0], thresholds[-1])
    axes.set_ylim(0, 100)
    axes.set_xlabel("maximum allowed distance to the label T (mm)")
    axes.set_ylabel("frames with maximum joint error ≤ T (%)")
    axes.grid(True, alpha=0.4)
    axes.legend(loc="lower right")
    axes.set_title(title)
  _save(fig, path)
  return fig


def plot_per_joint_errors(path, per_joint, joint_names, title=None):
  """Grouped bars of the mean error of each joint, and of their mean, per method.

  Args:
    path: Output image file.
    per_joint: A dict method name → array of shape `[J]`, mm (`metrics.per_joint_errors`).
    joint_names: J names, in the arrays' order.
    title: Optional figure title.
  """
  names = list(joint_names) + ["mean"]
  width = 0.8 / max(len(per_joint), 1)
  figure_width = max(6, 0.55 * len(names) * max(1, len(per_joint) / 2))
  fig = figure.Figure(figsize=(figure_width, 4.5), layout="constrained")
  axes = fig.add_subplot()
  positions = np.arange(len(names))
  for index, (method, errors) in enumerate(per_joint.items()):
    errors = np.asarray(errors, dtype=np.float64)
    if errors.shape != (len(joint_names),):
      raise ValueError(f"per_joint[{method!r}] must have shape [{len(joint_names)}] to match "
                       f"joint_names, got shape {errors.shape}")
    axes.bar(positions + (index - (len(per_joint) - 1) / 2) * width,
             np.append(errors, errors.mean()), width, label=method)
  axes.set_xticks(positions, names, rotation=60, ha="right")
  axes.set_ylabel("mean error (mm)")
  axes.grid(True, axis="y", alpha=0.4)
  axes.legend()
  if title:
    axes.set_title(title)
  _save(fig, path)


def _draw_skeleton(axes, points, parents, color, label):
  if parents is not None:
    for child, parent in enumerate(parents):
      if parent >= 0:
        axes.plot(points[[parent, child], 0], points[[parent, child], 1], color=color,
                  linewidth=1.2)
  axes.scatter(points[:, 0], points[:, 1], s=12, color=color, label=label, zorder=3)


REFERENCE_COLOR = "tab:red"


def _draw_reference(camera_axes, side_axes, xyz, intrinsics, cube_mm):
  """The reference point (a cross) and, with `cube_mm`, the crop: its window in the camera view
  (the cube projected at the reference depth, SPEC §7's half-widths fx·cube/2d, fy·cube/2d),
  its (z, y) square in the side view."""
  fx, fy = intrinsics[:2]
  _, y, z = xyz
  u, v = camera.project(xyz[np.newaxis], intrinsics).numpy()[0]
  camera_axes.plot([u], [v], "+", color=REFERENCE_COLOR, markersize=14, mew=2)
  side_axes.plot([z], [y], "+", color=REFERENCE_COLOR, markersize=14, mew=2,
                 label="reference point")
  if cube_mm is None:
    return
  half = cube_mm / 2.0
  du, dv = fx * half / z, fy * half / z
  camera_axes.plot([u - du, u + du, u + du, u - du, u - du],
                   [v - dv, v - dv, v + dv, v + dv, v - dv], color=REFERENCE_COLOR, lw=1)
  side_axes.plot([z - half, z + half, z + half, z - half, z - half],
                 [y - half, y - half, y + half, y + half, y - half], color=REFERENCE_COLOR,
                 lw=1, ls="--", label=f"crop cube {cube_mm:g} mm")


def plot_qualitative(path, depth, intrinsics, labels, predictions, frames=None, parents=None,
                     label_name="labels", titles=None, references=None, cube_mm=None):
  """Camera view and side view of chosen frames with the point cloud, labels and predictions.

  Each chosen frame is a row: on the left the depth image with the keypoints projected into it;
  on the right the back-projected depth points and the keypoints seen from the side (depth z
  to the right, y down), where an error along the viewing ray shows.

  Args:
    path: Output image file.
    depth: An array of shape `[F, H, W]`, mm (0 = no measurement).
    intrinsics: An array of shape `[F, 4]` or `[4]`, (fx, fy, cx, cy) of the depth images.
    labels: An array of shape `[F, J, 3]`, camera-frame xyz in mm.
    predictions: An array of shape `[F, J, 3]`, camera-frame xyz in mm, or a dict method
      name → such an array to compare several methods.
    frames: Indices of the frames to draw (all when None).
    parents: Optional parent per keypoint (-1 for the root) to draw bones.
    label_name: Legend entry of the labels.
    titles: Optional name per frame of `depth` (its file, say) for the titles ("frame i").
    references: Optional array of shape `[F, 3]`, the crop's reference point (camera-frame xyz
      in mm, z > 0): a cross in both views.
    cube_mm: With `references`, the crop cube's side (mm): the crop window in both views.
  """
  depth = np.asarray(depth, dtype=np.float64)
  labels = np.asarray(labels, dtype=np.float64)
  if depth.ndim != 3 or labels.ndim != 3 or len(labels) != len(depth):
    raise ValueError(f"depth must have shape [F, H, W] and labels [F, J, 3] with the same F, "
                     f"got shapes {depth.shape} and {labels.shape}")
  intrinsics = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64), (len(depth), 4))
  frames = list(range(len(depth))) if frames is None else list(frames)
  if not isinstance(predictions, dict):
    predictions = {"predictions": predictions}
  keypoints = {label_name: labels}
  keypoints.update({name: np.asarray(xyz, dtype=np.float64) for name, xyz in predictions.items()})
  colors = {name: LABEL_COLOR if index == 0 else
            PREDICTION_COLORS[(index - 1) % len(PREDICTION_COLORS)]
            for index, name in enumerate(keypoints)}
  fig = figure.Figure(figsize=(9, 4.2 * len(frames)), layout="constrained")
  grid = fig.subplots(len(frames), 2, squeeze=False)
  for row, frame in enumerate(frames):
    camera_axes, side_axes = grid[row]
    valid = depth[frame] > 0
    camera_axes.imshow(np.where(valid, depth[frame], np.nan), cmap="gray")
    cloud = camera.depth_to_points(depth[frame], intrinsics[frame]).numpy()[valid]
    cloud = cloud[::max(1, len(cloud) // MAX_CLOUD_POINTS)]
    side_axes.scatter(cloud[:, 2], cloud[:, 1], s=1, color="0.6", rasterized=True)
    for name, xyz in keypoints.items():
      uv = camera.project(xyz[frame], intrinsics[frame]).numpy()
      _draw_skeleton(camera_axes, uv, parents, colors[name], name)
      _draw_skeleton(side_axes, xyz[frame][:, [2, 1]], parents, colors[name], name)
    # Keypoints outside the image must not zoom the camera view out of it.
    camera_axes.set_xlim(-0.5, depth.shape[2] - 0.5)
    camera_axes.set_ylim(depth.shape[1] - 0.5, -0.5)
    if references is not None:
      _draw_reference(camera_axes, side_axes, np.asarray(references[frame], np.float64),
                      intrinsics[frame], cube_mm)
    _finish_views(camera_axes, side_axes,
                  f"frame {frame}" if titles is None else str(titles[frame]))
  _save(fig, path)


def _finish_views(camera_axes, side_axes, name):
  """Titles, axis labels and the legend of one frame's two views."""
  camera_axes.set_title(f"{name}: camera view", fontsize="medium")
  camera_axes.set_axis_off()
  side_axes.set_title(f"{name}: side view", fontsize="medium")
  side_axes.set_xlabel("z (mm)")
  side_axes.set_ylabel("y (mm)")
  side_axes.set_aspect("equal", adjustable="datalim")
  side_axes.invert_yaxis()
  side_axes.legend(loc="best", fontsize="small")
