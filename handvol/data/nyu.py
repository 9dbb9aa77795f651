"""NYU Hand Pose dataset (Tompson et al. 2014): reader and writer.

Layout: `<root>/<split>/depth_<camera>_<frame + 1:07d>.png` (8-bit colour PNGs, depth in mm =
(G << 8) | B) and `<root>/<split>/joint_data.mat` holding `joint_uvd` and `joint_xyz` of shape
`[camera, frame, 36, 3]`. NYU's xyz is y-up; this module converts it to the OpenCV frame
(y down) on reading and back on writing, and nowhere else.

NYU's 36 joints are six points per finger (little, ring, middle, index, thumb), from the tip
down: KNU3_A (tip), KNU3_B, KNU2_A, KNU2_B, KNU1_A, KNU1_B, where each KNU segment's A point is
its distal end and B its proximal end, followed by six palm points (PALM_1 and PALM_2 on the
two sides of the wrist, PALM_3 the palm centre). `TO_21` maps them to our 21 keypoints: tip =
KNU3_A, DIP (thumb IP) = KNU3_B, PIP (thumb MCP) = KNU2_B, MCP (thumb CMC) = KNU1_B, wrist = the
mean of PALM_1 and PALM_2. It is an approximation (NYU's points are fitted model points, not
anatomical joint centres) used for All-21 evaluation on NYU.

The test set's frames 0–2439 and 2440–8251 show two different subjects (`TEST_SUBJECT_SPLIT`).
"""

import os

import numpy as np
import scipy.io

from handvol.data import png
from handvol.data import records
from handvol.hand import skeleton

INTRINSICS = (588.03, 587.07, 320.0, 240.0)
"""(fx, fy, cx, cy) of NYU's depth camera, pixels."""

IMAGE_SIZE = (480, 640)
"""(height, width) of NYU's depth images."""

NUM_JOINTS = 36
_FINGER_PREFIXES = ("F1", "F2", "F3", "F4", "TH")  # little, ring, middle, index, thumb
_FINGER_POINTS = ("KNU3_A", "KNU3_B", "KNU2_A", "KNU2_B", "KNU1_A", "KNU1_B")
JOINT_NAMES = tuple(f"{finger}_{point}" for finger in _FINGER_PREFIXES
                    for point in _FINGER_POINTS) + tuple(f"PALM_{i}" for i in range(1, 7))
"""The 36 joint names in `joint_data.mat` order."""

EVAL14 = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)
"""The 14 evaluated joints: little tip, little mid, ring tip, ring mid, middle tip, middle mid,
index tip, index mid, thumb tip, thumb mid, thumb root, wrist 1, wrist 2, palm centre."""

TEST_SUBJECT_SPLIT = 2440
"""Test frames below this index show subject 0, the others subject 1 (the training set shows
one subject, 0)."""

# Our finger name → NYU prefix; our joints per finger run base → tip, NYU's tip → base.
_NYU_FINGER = {"thumb": "TH", "index": "F4", "middle": "F3", "ring": "F2", "little": "F1"}
_BASE_TO_TIP_POINTS = ("KNU1_B", "KNU2_B", "KNU3_B", "KNU3_A")
_WRIST_POINTS = ("PALM_1", "PALM_2")


def _build_to_21():
  table = [tuple(JOINT_NAMES.index(name) for name in _WRIST_POINTS)]
  for finger in skeleton.FINGERS:
    table += [(JOINT_NAMES.index(f"{_NYU_FINGER[finger]}_{point}"),)
              for point in _BASE_TO_TIP_POINTS]
  return tuple(table)


TO_21 = _build_to_21()
"""For each of our 21 keypoints, the NYU joints whose mean it is."""


def _build_from_21():
  # For writing: each NYU joint copies one of ours; those without a counterpart copy the
  # neighbour along the finger (KNU2_A ≈ KNU3_B, KNU1_A ≈ KNU2_B), the palm points the wrist,
  # except PALM_3 (palm centre) which is the middle of the wrist and the middle MCP.
  table = [None] * NUM_JOINTS
  for ours, nyu in enumerate(TO_21):
    for joint in nyu:
      table[joint] = (ours,)
  for finger in _FINGER_PREFIXES:
    table[JOINT_NAMES.index(f"{finger}_KNU2_A")] = table[JOINT_NAMES.index(f"{finger}_KNU3_B")]
    table[JOINT_NAMES.index(f"{finger}_KNU1_A")] = table[JOINT_NAMES.index(f"{finger}_KNU2_B")]
  wrist = TO_21[0][0]
  middle_mcp = JOINT_NAMES.index(f"{_NYU_FINGER['middle']}_{_BASE_TO_TIP_POINTS[0]}")
  for index, entry in enumerate(table):
    if entry is None:
      table[index] = table[wrist]
  table[JOINT_NAMES.index("PALM_3")] = table[wrist] + table[middle_mcp]
  return tuple(table)


FROM_21 = _build_from_21()
"""For writing: for each NYU joint, the keypoints of ours whose mean it gets."""


def to_21(joints36):
  """`[..., 36, 3]` NYU joints → `[..., 21, 3]` our keypoints (`TO_21`)."""
  joints36 = np.asarray(joints36)
  return np.stack([joints36[..., list(group), :].mean(axis=-2) for group in TO_21], axis=-2)


def from_21(joints21):
  """`[..., 21, 3]` our keypoints → `[..., 36, 3]` NYU joints (`FROM_21`)."""
  joints21 = np.asarray(joints21)
  return np.stack([joints21[..., list(group), :].mean(axis=-2) for group in FROM_21], axis=-2)


def _flip_y(xyz):
  return xyz * np.array([1.0, -1.0, 1.0], xyz.dtype)


def depth_path(root, split, frame, camera=1):
  """Path of frame `frame` (0-based) of `camera` in `split`."""
  return os.path.join(root, split, f"depth_{camera}_{frame + 1:07d}.png")


def read_joints(root, split, camera=1):
  """NYU's labels of one camera, in the OpenCV frame.

  Returns:
    A dict: `"uvd"` float32 `[F, 36, 3]` (pixels, mm) and `"xyz"` float32 `[F, 36, 3]` (mm,
    y down).
  """
  path = os.path.join(root, split, "joint_data.mat")
  if not os.path.isfile(path):
    raise records.FrameError(f"{path}: file not found")
  try:
    mat = scipy.io.loadmat(path, variable_names=("joint_uvd", "joint_xyz"))
  except (OSError, ValueError, TypeError) as error:  # Truncated or not a MATLAB file.
    raise records.FrameError(f"{path}: not a readable MATLAB file, truncated or corrupt "
                             f"({error})") from error
  for key in ("joint_uvd", "joint_xyz"):
    if key not in mat or mat[key].ndim != 4 or mat[key].shape[2:] != (NUM_JOINTS, 3):
      raise records.FrameError(f"{path}: needs {key} of shape [camera, frame, 36, 3]")
    if mat[key].shape[0] < camera:
      raise records.FrameError(f"{path}: {key} has no camera {camera}")
  return {"uvd": mat["joint_uvd"][camera - 1].astype(np.float32),
          "xyz": _flip_y(mat["joint_xyz"][camera - 1].astype(np.float32))}


def subject_of(split, frame):
  """The subject id of a frame (`TEST_SUBJECT_SPLIT`)."""
  return int(split == "test" and frame >= TEST_SUBJECT_SPLIT)


def read_frames(root, split, camera=1, frames=None, label_keypoints=skeleton.LAB6,
                skip_log=None):
  """Yields NYU frames as frame records.

  Args:
    root: The dataset folder holding `train/` and `test/`.
    split: "train" or "test".
    camera: 1, 2 or 3 (published results use camera 1).
    frames: Optional iterable of 0-based frame indices; all frames by default.
    label_keypoints: Our keypoints that get a 3D label (`kind` 2) from `TO_21`; the default is
      the paper's Lab-6. `truth_xyz` always holds all 21 mapped keypoints.
    skip_log: A `records.SkipLog` to skip bad frames and log them (with their frame index);
      None raises `FrameError`. A log with `allow_off_image` keeps frames whose keypoints
      project outside the image (the test split: their labels are still the truth).

  Yields:
    Frame records (`records` module), dataset "nyu".
  """
  joints = read_joints(root, split, camera)
  uv21 = to_21(joints["uvd"])[..., :2]
  xyz21 = to_21(joints["xyz"])
  labelled = np.zeros(records.NUM_KEYPOINTS, bool)
  labelled[list(label_keypoints)] = True
  kind = np.where(labelled, records.KIND_3D, records.KIND_NONE).astype(np.int32)
  for frame in range(len(xyz21)) if frames is None else frames:
    path = depth_path(root, split, frame, camera)

    def make(frame=frame, path=path):
      return records.make_record(
          png.read_nyu_depth(path), INTRINSICS, "nyu", uv=uv21[frame], xyz=xyz21[frame],
          kind=kind, truth_xyz=xyz21[frame], subject=subject_of(split, frame))

    record = records.checked(make, f"{path} (frame {frame})", skip_log, frame)
    if record is not None:
      yield record


def write_frames(out_dir, frame_records, split="train", camera=1):
  """Writes frame records in NYU's layout (fixtures, synthetic data in NYU form).

  The joints written are each record's `truth_xyz` when it has one, else its `xyz` (then all 21
  must be 3D labels), spread over NYU's 36 joints by `FROM_21`, converted to y-up; `joint_uvd`
  is their projection with the record's intrinsics. Depth is rounded to whole mm.

  Args:
    out_dir: Dataset folder; `<out_dir>/<split>/` is created.
    frame_records: Iterable of frame records of one camera.
    split: "train" or "test".
    camera: The camera index in the file names; `joint_data.mat` gets `camera` cameras, the
      others zero.

  Returns:
    The number of frames written.
  """
  os.makedirs(os.path.join(out_dir, split), exist_ok=True)
  uvd, xyz = [], []
  for frame, record in enumerate(frame_records):
    joints36 = from_21(records.full_joints(record, f"NYU frame {frame}"))
    uv = records.project_points(joints36, record["intrinsics"])
    uvd.append(np.concatenate([uv, joints36[:, 2:]], axis=-1))
    xyz.append(_flip_y(joints36))
    png.write_nyu_depth(depth_path(out_dir, split, frame, camera), record["depth"])
  shape = (camera, len(xyz), NUM_JOINTS, 3)
  mat = {"joint_uvd": np.zeros(shape), "joint_xyz": np.zeros(shape),
         "joint_names": np.array(JOINT_NAMES, dtype=object)}
  if xyz:
    mat["joint_uvd"][camera - 1] = uvd
    mat["joint_xyz"][camera - 1] = xyz
  scipy.io.savemat(os.path.join(out_dir, split, "joint_data.mat"), mat)
  return len(xyz)
