"""A light depth-sensor model of this package's own (a structured-light camera, roughly).

Parameters are the fields of `SensorConfig`. From the clean z-buffer and the incidence cosines
of `raycast.render`:
- noise: per pixel Gaussian σ(z) = `noise_base_mm` + `noise_quad_mm`·(z / 1 m)², plus a smooth
  offset field (a coarse Gaussian grid of SD `blob_sd_mm` every `blob_cell_px` pixels,
  upsampled bilinearly) that bends surfaces by a millimetre or so, as a real sensor's
  low-frequency error does;
- grazing incidence: a pixel is lost with probability 1 where |cos| < `grazing_cos[0]`,
  falling linearly to 0 at `grazing_cos[1]`;
- edges: a pixel on the far side of a depth jump (a 4-neighbour nearer by more than
  `jump_mm`) or on the silhouette (a 4-neighbour with no surface) is lost with probability
  `jump_drop`;
- random dropouts (`dropout`) and the working range `range_mm`;
- 1 mm quantisation (the PNG stores whole millimetres).
"""

import dataclasses

import cv2
import numpy as np


@dataclasses.dataclass(frozen=True)
class SensorConfig:
  """The sensor model's parameters (module docstring); mm unless said."""
  noise_base_mm: float = 0.8
  noise_quad_mm: float = 1.6
  blob_sd_mm: float = 0.7
  blob_cell_px: int = 40
  grazing_cos: tuple = (0.17, 0.35)
  jump_mm: float = 20.0
  jump_drop: float = 0.6
  dropout: float = 0.004
  range_mm: tuple = (150.0, 3000.0)


def _far_side_of_jumps(depth, jump_mm):
  # Pixels with a neighbour (4-connected) nearer by more than jump_mm, or a neighbour with no
  # surface at all (the silhouette).
  far = np.zeros(depth.shape, bool)
  for axis in (0, 1):
    for shift in (1, -1):
      neighbour = np.roll(depth, shift, axis=axis)
      far |= (depth > 0) & (((neighbour > 0) & (depth - neighbour > jump_mm))
                            | (neighbour == 0))
  return far


def apply(rng, clean, cosine, config=SensorConfig()):
  """Turns a clean z-buffer into a measured depth image.

  Args:
    rng: A NumPy generator.
    clean: `[H, W]` depth in mm, 0 = no surface.
    cosine: `[H, W]` |cos| of the incidence angle.
    config: A `SensorConfig`.

  Returns:
    float64 `[H, W]` depth in whole mm, 0 = no measurement.
  """
  height, width = clean.shape
  coarse = rng.normal(0.0, config.blob_sd_mm,
                      (height // config.blob_cell_px + 2, width // config.blob_cell_px + 2))
  blob = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
  sigma = config.noise_base_mm + config.noise_quad_mm * (clean / 1000.0) ** 2
  depth = clean + rng.normal(size=clean.shape) * sigma + blob
  low, high = config.grazing_cos
  lost_grazing = rng.uniform(size=clean.shape) < np.clip((high - cosine) / (high - low), 0, 1)
  lost_jump = (_far_side_of_jumps(clean, config.jump_mm)
               & (rng.uniform(size=clean.shape) < config.jump_drop))
  lost = (lost_grazing | lost_jump | (rng.uniform(size=clean.shape) < config.dropout)
          | (clean <= 0.0) | (depth < config.range_mm[0]) | (depth > config.range_mm[1]))
  return np.where(lost, 0.0, np.rint(depth))
