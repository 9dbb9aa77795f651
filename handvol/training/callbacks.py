"""Training callbacks: images of the predictions over the input, for TensorBoard."""

import cv2
import keras
import numpy as np
import tensorflow as tf

from handvol.geometry import camera
from handvol.hand import skeleton

IMAGE_SCALE = 2
"""Crops are drawn at this multiple of their 128 px so the skeleton stays legible."""

FINGER_COLORS_RGB = ((230, 60, 60), (240, 170, 40), (70, 200, 70), (60, 140, 240),
                     (190, 90, 230))
"""One colour per `skeleton.FINGERS` entry for the predicted bones; the truth is drawn white."""


def draw_skeletons(depth_input, predicted_uv, truth_uv=None):
  """Draws predicted (and true) 2D skeletons over normalised depth crops.

  Args:
    depth_input: An array of shape `[N, H, W, 1]`, network input in [−1, 1] (−1 nearest,
      +1 far or invalid, SPEC §7).
    predicted_uv: An array of shape `[N, 21, 2]`, keypoints in crop pixels.
    truth_uv: Optional array of shape `[N, 21, 2]`, true keypoints in crop pixels (NaN rows
      are skipped).

  Returns:
    A uint8 array of shape `[N, H·IMAGE_SCALE, W·IMAGE_SCALE, 3]`.
  """
  depth_input = np.asarray(depth_input, dtype=np.float32)
  if depth_input.ndim != 4 or depth_input.shape[-1] != 1:
    raise ValueError(f"depth_input must have shape [N, H, W, 1], got {depth_input.shape}")
  gray = np.clip((1.0 - depth_input[..., 0]) * 127.5, 0, 255).astype(np.uint8)
  images = []
  for index, frame in enumerate(gray):
    image = cv2.resize(np.stack([frame] * 3, axis=-1), None, fx=IMAGE_SCALE, fy=IMAGE_SCALE,
                       interpolation=cv2.INTER_NEAREST)
    layers = [(predicted_uv[index], None)]
    if truth_uv is not None:
      layers.insert(0, (truth_uv[index], (255, 255, 255)))
    for uv, color in layers:
      if not np.all(np.isfinite(uv)):
        continue
      points = np.round((np.asarray(uv) + 0.5) * IMAGE_SCALE - 0.5).astype(np.int32)
      for bone in range(skeleton.NUM_BONES):
        bone_color = color or FINGER_COLORS_RGB[skeleton.BONE_FINGER[bone]]
        start = points[skeleton.BONE_START[bone]]
        end = points[skeleton.BONE_END[bone]]
        cv2.line(image, tuple(map(int, start)), tuple(map(int, end)), bone_color, 1,
                 cv2.LINE_AA)
      for point in points:
        cv2.circle(image, tuple(map(int, point)), 2, color or (255, 255, 0), -1)
    images.append(image)
  return np.stack(images)


class PredictionImages(keras.callbacks.Callback):
  """Writes the model's predictions on fixed examples as TensorBoard images every few epochs.

  Args:
    examples: A dict batch of training examples (numpy), with "depth_input", "crop_intrinsics",
      "center_xyz" and, when "has_truth" is set, "truth_xyz".
    log_dir: The directory of the image summaries.
    every_epochs: Write after every this many epochs.
  """

  def __init__(self, examples, log_dir, every_epochs=1):
    super().__init__()
    self.examples = examples
    self.log_dir = log_dir
    self.every_epochs = int(every_epochs)
    self._writer = None

  def _write(self, epoch):
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(self.log_dir)
    intrinsics = self.examples["crop_intrinsics"]
    predicted = self.model.predict_joints(self.examples["depth_input"], intrinsics,
                                          self.examples["center_xyz"])
    truth_uv = project_truth(self.examples)
    images = draw_skeletons(self.examples["depth_input"],
                            np.asarray(predicted["keypoints_uv"]), truth_uv)
    with self._writer.as_default():
      tf.summary.image("predictions", images, step=epoch, max_outputs=len(images))
    self._writer.flush()

  def on_epoch_end(self, epoch, logs=None):
    if (epoch + 1) % self.every_epochs == 0:
      self._write(epoch + 1)


def project_truth(examples):
  """`[N, 21, 2]` crop pixels of the true keypoints; NaN for frames without a truth."""
  intrinsics = np.asarray(examples["crop_intrinsics"], np.float32)[:, np.newaxis]
  uv = camera.project(np.asarray(examples["truth_xyz"], np.float32), intrinsics).numpy()
  uv[np.asarray(examples["has_truth"]) <= 0] = np.nan
  return uv
