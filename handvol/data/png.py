"""Depth PNG input and output (OpenCV), with errors that name the file.

Two encodings occur: single-channel 16-bit PNGs holding depth in some unit (HANDS2017, own
captures), and NYU's 8-bit colour PNGs holding depth in mm as (G << 8) | B.
"""

import os

import cv2
import numpy as np

from handvol.data import records

UINT16_MAX = 65535


def _read(path, flags):
  if not os.path.isfile(path):
    raise records.FrameError(f"{path}: file not found")
  with open(path, "rb") as f:
    data = np.frombuffer(f.read(), np.uint8)
  image = cv2.imdecode(data, flags) if data.size else None
  if image is None:
    raise records.FrameError(f"{path}: not a readable PNG (corrupt or truncated)")
  return image


def read_depth16(path, unit_mm=1.0):
  """Reads a single-channel 16-bit depth PNG.

  Args:
    path: File path.
    unit_mm: Millimetres per stored unit (1 for mm; 0.125 for a RealSense stored in 1/8 mm).

  Returns:
    float32 `[H, W]` depth in mm, 0 where the PNG holds 0.

  Raises:
    records.FrameError: missing, unreadable or truncated file, or not 16-bit single-channel.
  """
  image = _read(path, cv2.IMREAD_UNCHANGED)
  if image.dtype != np.uint16 or image.ndim != 2:
    raise records.FrameError(
        f"{path}: expected a single-channel 16-bit depth PNG, got {image.dtype.name} with shape "
        f"{image.shape}")
  return image.astype(np.float32) * np.float32(unit_mm)


def depth_to_units(depth, unit_mm, where):
  """float depth in mm → uint16 in `unit_mm` units (rounded); raises if a value does not fit."""
  units = np.rint(np.asarray(depth, np.float64) / unit_mm)
  if np.any(units > UINT16_MAX) or np.any(units < 0):
    raise records.FrameError(
        f"{where}: depth does not fit 16 bits in units of {unit_mm} mm (max "
        f"{UINT16_MAX * unit_mm} mm)")
  return units.astype(np.uint16)


def write_depth16(path, depth, unit_mm=1.0):
  """Writes depth in mm as a single-channel 16-bit PNG in units of `unit_mm`."""
  if not cv2.imwrite(path, depth_to_units(depth, unit_mm, path)):
    raise OSError(f"{path}: could not write the PNG")


def read_nyu_depth(path):
  """Reads an NYU depth PNG: 8-bit colour, depth in mm = (G << 8) | B.

  Returns:
    float32 `[H, W]` depth in mm.
  """
  image = _read(path, cv2.IMREAD_UNCHANGED)
  if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
    raise records.FrameError(
        f"{path}: expected an 8-bit 3-channel NYU depth PNG, got {image.dtype.name} with shape "
        f"{image.shape}")
  # OpenCV orders channels B, G, R.
  blue = image[..., 0].astype(np.uint16)
  green = image[..., 1].astype(np.uint16)
  return ((green << 8) | blue).astype(np.float32)


def write_nyu_depth(path, depth):
  """Writes depth in mm (rounded) the NYU way: G = high byte, B = low byte, R = 0."""
  units = depth_to_units(depth, 1.0, path)
  image = np.stack([units & 0xFF, units >> 8, np.zeros_like(units)], axis=-1).astype(np.uint8)
  if not cv2.imwrite(path, image):
    raise OSError(f"{path}: could not write the PNG")
