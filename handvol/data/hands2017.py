"""HANDS2017 challenge / BigHand2.2M ("HIM") dataset: reader and writer.

Layout: `<root>/Training_Annotation.txt` and `<root>/images/image_D%08d.png` (640×480
single-channel 16-bit PNGs, depth in mm). Each annotation line is a file name followed by 63
floats: 21 joints × (x, y, z) in mm, camera frame, y down, in the order wrist; MCP of thumb,
index, middle, ring, little; then PIP, DIP, TIP of the thumb, then of index, middle, ring and
little. `TO_OURS` maps that order to ours: BigHand's thumb "MCP, PIP, DIP, TIP" are the thumb's
base, MCP, IP and tip, i.e. our CMC, MCP, IP and tip.

The paper notes that these 3D labels are systematically off the hand surface (their 2D
projections look right); they are read as they are.
"""

import os

import numpy as np

from handvol.data import png
from handvol.data import records
from handvol.hand import skeleton

INTRINSICS = (475.065948, 475.065857, 315.944855, 245.287079)
"""(fx, fy, cx, cy) of the HANDS2017 depth camera, pixels."""

ANNOTATION_FILE = "Training_Annotation.txt"
IMAGE_DIR = "images"
IMAGE_PATTERN = "image_D%08d.png"

_JOINTS_PER_FINGER = 4  # our order: base, joint 1, joint 2, tip


def _build_to_ours():
  finger_base = [1 + _JOINTS_PER_FINGER * f for f in range(len(skeleton.FINGERS))]
  order = [0] + finger_base
  for base in finger_base:
    order += [base + 1, base + 2, base + 3]
  return tuple(order)


TO_OURS = _build_to_ours()
"""For each joint of the file's order, the index of our keypoint it is."""


def read_frames(root, annotation=ANNOTATION_FILE, image_dir=IMAGE_DIR, subject=0, frames=None,
                label_keypoints=skeleton.LAB6, skip_log=None):
  """Yields HANDS2017 frames as frame records.

  Args:
    root: Folder holding the annotation file and the image folder.
    annotation: Annotation file name inside `root`.
    image_dir: Image folder inside `root`.
    subject: Subject id given to every frame (the annotation file has none).
    frames: Optional iterable of 0-based line indices to read; all by default.
    label_keypoints: Our keypoints that get a 3D label; the default is Lab-6. `truth_xyz`
      holds all 21.
    skip_log: A `records.SkipLog` to skip bad frames and log them; None raises `FrameError`.

  Yields:
    Frame records, dataset "hands2017".
  """
  path = os.path.join(root, annotation)
  if not os.path.isfile(path):
    raise records.FrameError(f"{path}: file not found")
  with open(path, encoding="utf-8") as f:
    lines = [line for line in f.read().splitlines() if line.strip()]
  labelled = np.zeros(records.NUM_KEYPOINTS, bool)
  labelled[list(label_keypoints)] = True
  kind = np.where(labelled, records.KIND_3D, records.KIND_NONE).astype(np.int32)
  wanted = range(len(lines)) if frames is None else frames
  for frame in wanted:
    fields = lines[frame].split()
    where = f"{path}:{frame + 1} ({fields[0] if fields else 'empty line'})"

    def make(fields=fields):
      if len(fields) != 1 + 3 * records.NUM_KEYPOINTS:
        raise records.FrameError(
            f"expected a file name and {3 * records.NUM_KEYPOINTS} numbers, got "
            f"{len(fields)} fields")
      joints = np.asarray(fields[1:], np.float64).reshape(records.NUM_KEYPOINTS, 3)
      xyz = np.zeros_like(joints)
      xyz[list(TO_OURS)] = joints
      depth = png.read_depth16(os.path.join(root, image_dir, fields[0]))
      return records.make_record(depth, INTRINSICS, "hands2017", xyz=xyz, kind=kind,
                                 truth_xyz=xyz, subject=subject)

    record = records.checked(make, where, skip_log, frame)
    if record is not None:
      yield record


def write_frames(out_dir, frame_records, annotation=ANNOTATION_FILE, image_dir=IMAGE_DIR):
  """Writes frame records in the HANDS2017 layout (fixtures, synthetic data in this form).

  The joints written are each record's `truth_xyz` when it has one, else its `xyz` (then all 21
  must be 3D labels). Depth is rounded to whole mm.

  Returns:
    The number of frames written.
  """
  os.makedirs(os.path.join(out_dir, image_dir), exist_ok=True)
  lines = []
  for frame, record in enumerate(frame_records):
    joints = records.full_joints(record, f"HANDS2017 frame {frame}")
    name = IMAGE_PATTERN % (frame + 1)
    png.write_depth16(os.path.join(out_dir, image_dir, name), record["depth"])
    numbers = " ".join(f"{value:.6f}" for value in joints[list(TO_OURS)].reshape(-1))
    lines.append(f"{name} {numbers}\n")
  with open(os.path.join(out_dir, annotation), "w", encoding="utf-8") as f:
    f.writelines(lines)
  return len(lines)
