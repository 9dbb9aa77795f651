"""The community's prediction and label files: one frame a line, (u, v, d) per joint.

These are the files that published methods share (collected by the awesome-hand-pose-estimation
evaluation tool): whitespace-separated floats, u and v in pixels of the full image, d in mm.
Converting them to xyz uses the dataset's camera; our xyz is y-down (OpenCV), NYU's own is
y-up, and the Euclidean joint errors are the same in both.
"""

import numpy as np

from handvol.geometry import camera

DECIMALS = 3
"""Decimals written per value: µm for d, a thousandth of a pixel for u and v."""


def read_uvd(path, num_joints):
  """Reads a community file.

  Args:
    path: A text file with one frame a line and 3·num_joints floats per line.
    num_joints: Joints per frame.

  Returns:
    A float64 array of shape `[F, num_joints, 3]`, (u, v, d) in pixels and mm.

  Raises:
    ValueError: naming the file and line, for an empty file, a line with the wrong number of
      columns, a value that is not a number, or NaN / Inf.
  """
  columns = 3 * num_joints
  rows = []
  with open(path, encoding="utf-8") as lines:
    for line_number, line in enumerate(lines, start=1):
      fields = line.split()
      if not fields:
        continue
      if len(fields) != columns:
        raise ValueError(f"{path}, line {line_number}: expected {columns} columns "
                         f"({num_joints} joints × u v d), got {len(fields)}")
      try:
        values = [float(field) for field in fields]
      except ValueError as error:
        raise ValueError(f"{path}, line {line_number}: {error}") from None
      if not all(np.isfinite(values)):
        raise ValueError(f"{path}, line {line_number}: NaN or Inf value")
      rows.append(values)
  if not rows:
    raise ValueError(f"{path} holds no frames")
  return np.asarray(rows, dtype=np.float64).reshape(len(rows), num_joints, 3)


def write_uvd(path, uvd):
  """Writes (u, v, d) per joint, one frame a line, in the community format.

  Args:
    path: The output text file.
    uvd: An array of shape `[F, J, 3]`, pixels and mm.
  """
  uvd = np.asarray(uvd, dtype=np.float64)
  if uvd.ndim != 3 or uvd.shape[-1] != 3:
    raise ValueError(f"uvd must have shape [frames, joints, 3], got shape {uvd.shape}")
  if not np.all(np.isfinite(uvd)):
    raise ValueError("uvd holds NaN or Inf values")
  np.savetxt(path, uvd.reshape(len(uvd), -1), fmt=f"%.{DECIMALS}f")


def uvd_to_camera(uvd, intrinsics):
  """(u, v, d) of a community file → camera-frame xyz in mm (y down).

  Args:
    uvd: An array of shape `[F, J, 3]`.
    intrinsics: (fx, fy, cx, cy) of the full image, e.g. `handvol.data.nyu.INTRINSICS`.

  Returns:
    A float64 array of shape `[F, J, 3]`.
  """
  return camera.uvd_to_xyz(np.asarray(uvd, dtype=np.float64), intrinsics).numpy()


def export_predictions(path, xyz, intrinsics):
  """Writes predicted camera-frame keypoints as a community file.

  Args:
    path: The output text file.
    xyz: An array of shape `[F, J, 3]`, camera-frame xyz in mm (y down), in the joint order
      the comparison expects (for NYU files the NYU-14 order: `protocols.hand21_to_nyu14`).
    intrinsics: (fx, fy, cx, cy) of the full image the file's pixels refer to.
  """
  write_uvd(path, camera.xyz_to_uvd(np.asarray(xyz, dtype=np.float64), intrinsics).numpy())


def check_frame_counts(labels, predictions):
  """Raises when a prediction array and the labels cover different numbers of frames.

  Args:
    labels: An array of shape `[F, J, 3]`.
    predictions: A dict method name → array of shape `[F', J, 3]`.
  """
  for name, predicted in predictions.items():
    if len(predicted) != len(labels):
      raise ValueError(f"predictions {name!r} hold {len(predicted)} frames, the labels "
                       f"{len(labels)}: both must list the same frames in the same order")
