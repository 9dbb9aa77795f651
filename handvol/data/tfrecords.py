"""Frame records in sharded TFRecord files.

Each `tf.train.Example` holds one frame record: the depth as a 16-bit PNG (`"depth_png"`) in
units of `"depth_unit_mm"`, and every other field as a flat list. The unit is the finest of
1, 1/2, ..., 1/32 mm in which the frame's largest depth still fits 16 bits, so integer-mm
depths are stored exactly and any depth is stored to within half a unit.

Shards are named `<name>-<index:05d>-of-<count:05d>.tfrecord`. Each is written under a hidden
temporary name in the same folder and renamed when complete (an atomic rename on POSIX), so a
reader never sees a half-written shard.
"""

import glob
import os

import cv2
import keras
import numpy as np
import tensorflow as tf

from handvol.data import png
from handvol.data import records

SHARD_SUFFIX = ".tfrecord"
_FINEST_UNIT_EXPONENT = 5

_FLOAT_FIELDS = ("intrinsics", "uv", "xyz", "visible", "truth_xyz", "has_truth", "center_uvd",
                 "has_center")
_INT_FIELDS = ("kind", "subject", "dataset")


def depth_unit_for(depth):
  """The storage unit (mm) for a depth image: the finest power of two ≥ 1/32 that fits."""
  largest = float(np.max(depth)) if np.size(depth) else 0.0
  for exponent in range(_FINEST_UNIT_EXPONENT, -1, -1):
    unit = 2.0 ** -exponent
    if largest / unit <= png.UINT16_MAX:
      return unit
  return 1.0


def serialize_record(record):
  """A frame record (numpy) → serialized `tf.train.Example` bytes."""
  unit = depth_unit_for(record["depth"])
  ok, encoded = cv2.imencode(".png", png.depth_to_units(record["depth"], unit, "depth"))
  if not ok:
    raise records.FrameError("could not encode the depth PNG")
  feature = {
      "depth_png": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded.tobytes()])),
      "depth_unit_mm": tf.train.Feature(float_list=tf.train.FloatList(value=[unit])),
  }
  for key in _FLOAT_FIELDS:
    feature[key] = tf.train.Feature(float_list=tf.train.FloatList(
        value=np.asarray(record[key], np.float32).reshape(-1)))
  for key in _INT_FIELDS:
    feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(
        value=np.asarray(record[key], np.int64).reshape(-1)))
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _feature_spec():
  spec = {"depth_png": tf.io.FixedLenFeature([], tf.string),
          "depth_unit_mm": tf.io.FixedLenFeature([], tf.float32)}
  for key in _FLOAT_FIELDS + _INT_FIELDS:
    dtype, shape = records.RECORD_SPEC[key]
    spec[key] = tf.io.FixedLenFeature([int(np.prod(shape))],
                                      tf.float32 if key in _FLOAT_FIELDS else tf.int64)
  return spec


def parse_record(serialized, name=None):
  """Serialized example (scalar string tensor) → frame record of tensors (graph-safe).

  Returns:
    A dict with the keys and dtypes of `records.RECORD_SPEC`; `"depth"` is `[H, W]` float32 mm.
  """
  with tf.name_scope(name or "parse_record"):
    parsed = tf.io.parse_single_example(serialized, _feature_spec())
    units = tf.io.decode_png(parsed["depth_png"], channels=1, dtype=tf.uint16)
    record = {"depth": tf.cast(units[..., 0], tf.float32) * parsed["depth_unit_mm"]}
    for key in _FLOAT_FIELDS + _INT_FIELDS:
      dtype, shape = records.RECORD_SPEC[key]
      record[key] = tf.reshape(tf.cast(parsed[key], tf.as_dtype(dtype)), shape)
    return record


def write_shards(frame_records, out_dir, name, frames_per_shard=1000, total=None,
                 progress=True):
  """Writes frame records to sharded TFRecords, each shard renamed into place when complete.

  Args:
    frame_records: Iterable of frame records (validated on the way).
    out_dir: Output folder (created).
    name: Shard name prefix.
    frames_per_shard: Frames per shard (the last may hold fewer).
    total: The exact number of frames, for the progress bar's target and the shard count in
      the names; when None the records are first gathered in memory to count them.
    progress: Show a `keras.utils.Progbar`.

  Returns:
    The list of shard paths written, in order.
  """
  if frames_per_shard < 1:
    raise ValueError(f"frames_per_shard must be ≥ 1, got {frames_per_shard}")
  if total is None:
    frame_records = list(frame_records)
    total = len(frame_records)
  os.makedirs(out_dir, exist_ok=True)
  num_shards = max(1, -(-total // frames_per_shard))
  bar = keras.utils.Progbar(total, unit_name="frame") if progress else None
  paths, writer, temp_path, written = [], None, None, 0

  def close_shard():
    writer.close()
    final = os.path.join(out_dir, f"{name}-{len(paths):05d}-of-{num_shards:05d}{SHARD_SUFFIX}")
    os.replace(temp_path, final)
    paths.append(final)

  try:
    for index, record in enumerate(frame_records):
      if index >= total:
        raise ValueError(f"more frame records than total={total}")
      if writer is None:
        temp_path = os.path.join(out_dir, f".{name}-{len(paths):05d}.tmp-{os.getpid()}")
        writer = tf.io.TFRecordWriter(temp_path)
      records.validate_record(record, f"{name} frame {index}")
      writer.write(serialize_record(record))
      written += 1
      if bar is not None:
        bar.update(written)
      if written % frames_per_shard == 0:
        close_shard()
        writer = None
    if writer is not None:
      close_shard()
      writer = None
    if written != total:
      raise ValueError(f"total={total} but {written} frame records were given; the shard "
                       "names count the wrong number of shards")
  finally:
    if writer is not None:
      writer.close()
      os.remove(temp_path)
  return paths


def list_shards(out_dir, name):
  """The complete shards of `name` in `out_dir`, sorted (temporary files never match)."""
  return sorted(glob.glob(os.path.join(out_dir, f"{name}-*{SHARD_SUFFIX}")))
