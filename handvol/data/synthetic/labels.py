"""Labels of synthetic frames: visibility, annotators' 2D clicks, and HIM-like wrong 3D labels.

HIM (BigHand2.2M) labels come from magnetic sensors worn on the back of the hand; the paper
found them systematically off the depth surface (median distance to the point cloud 21.5 mm
against 9.1 mm for NYU). We model that error as a sensor on the dorsal skin standing in for the
joint: each joint is moved along the dorsal normal of its bone (`kinematics` bone frames,
column 1) by a fixed offset, plus noise. In the camera frame the error therefore turns with
the bones (pose) and its depth component flips with the side facing the camera (viewpoint).
"""

import dataclasses

import numpy as np

from handvol.hand import skeleton

LABEL_MODES = ("lab6_2d", "lab6_3d", "all21_3d", "him_wrong_3d")
"""What a frame's labels are: the wrist and fingertips as annotator clicks in pixels, or in
3D (the truth), all 21 keypoints in 3D (the truth), or all 21 as HIM-like wrong 3D labels."""

WRIST_NORMAL_FINGER = "middle"
"""The wrist's dorsal normal is that of this finger's palm bone (the back of the hand)."""


def _keypoint_bones():
  bones = np.empty(skeleton.NUM_KEYPOINTS, np.int64)
  for keypoint in range(skeleton.NUM_KEYPOINTS):
    if keypoint == skeleton.ROOT:
      base = skeleton.FINGER_KEYPOINTS[skeleton.FINGERS.index(WRIST_NORMAL_FINGER)][0]
      bones[keypoint] = skeleton.BONE_END.index(base)
    else:
      bones[keypoint] = skeleton.BONE_END.index(keypoint)
  return bones


KEYPOINT_BONES = _keypoint_bones()
"""`[21]`: the bone whose dorsal normal moves each keypoint's wrong label (the bone ending at
the keypoint; for the wrist, `WRIST_NORMAL_FINGER`'s palm bone)."""


@dataclasses.dataclass(frozen=True)
class LabelConfig:
  """Label error parameters.

  Attributes:
    annotator_noise_px: SD of the annotators' 2D clicks around the true projection (pixels).
    him_offset_mm: Offset of the HIM-like labels along the dorsal normal.
    him_noise_mm: SD of their isotropic noise on top (mm, per axis).
    visibility_margin_mm: A keypoint is visible when the z-buffer at its pixel is no nearer
      than its skin radius plus this margin in front of it.
  """
  annotator_noise_px: float = 3.0
  him_offset_mm: float = 15.0
  him_noise_mm: float = 3.0
  visibility_margin_mm: float = 5.0


def him_wrong_labels(keypoints, bone_frames, config, rng):
  """HIM-like wrong 3D labels: keypoint + offset·(dorsal normal of its bone) + noise.

  Args:
    keypoints: `[..., 21, 3]` true keypoints in mm, camera frame.
    bone_frames: `[..., 20, 3, 3]` bone frames (column 1 = dorsal normal).
    config: A `LabelConfig`.
    rng: A `numpy.random.Generator`.

  Returns:
    `[..., 21, 3]` wrong labels in mm.
  """
  normals = np.take(bone_frames[..., :, 1], KEYPOINT_BONES, axis=-2)
  noise = config.him_noise_mm * rng.standard_normal(keypoints.shape)
  return keypoints + config.him_offset_mm * normals + noise


def visibility(keypoints, uv, zbuffer, radii, margin_mm):
  """Visibility of keypoints from a clean z-buffer.

  A keypoint is visible when it projects into the image and the nearest surface at its pixel
  is no more than its skin radius plus `margin_mm` in front of it (the skin around the joint
  itself), or no surface is there.

  Args:
    keypoints: `[N, 3]` mm camera frame.
    uv: `[N, 2]` their projections in pixels.
    zbuffer: `[H, W]` clean depth in mm, 0 where no surface.
    radii: `[N]` skin radius around each keypoint (mm).
    margin_mm: Extra tolerance (mm).

  Returns:
    `[N]` float32, 1 visible, 0 occluded or outside the image.
  """
  height, width = zbuffer.shape
  column = np.round(uv[:, 0]).astype(np.int64)
  row = np.round(uv[:, 1]).astype(np.int64)
  inside = (column >= 0) & (column < width) & (row >= 0) & (row < height)
  seen = zbuffer[np.clip(row, 0, height - 1), np.clip(column, 0, width - 1)]
  unoccluded = (seen == 0) | (seen >= keypoints[:, 2] - radii - margin_mm)
  return (inside & unoccluded).astype(np.float32)
