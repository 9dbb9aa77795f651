"""The annotation tool's files: which frames may be served, and the capture folder it writes.

The output folder is a capture folder (`handvol.data.capture`) that `train.py` reads as it is:
`depth/<frame name>` (a copy of each labelled frame's PNG, in its own depth unit) and one
annotation file per annotator, `annotations.json` for the default annotator and
`annotations.<name>.json` for `--annotator NAME`. Beyond the capture format's keys, the file
carries an `"annotate"` section that the capture reader ignores:

    "annotate": {"annotator": "alice", "frames_dir": "/abs/path", "position": "a.png",
                 "log": {"a.png": {"status": "done", "seconds": 12.5}, ...}}

`status` is "open", "done" or "skipped"; `seconds` the annotator's active time on the frame.
`frames` holds the frames with at least one keypoint, each with `"source"`, its name under
`--frames`. Every change rewrites the file atomically (a temporary file in the same folder,
fsync, rename), so a crash leaves the previous or the new version, never a torn one. A second
server writing the same annotator's file is refused by an advisory lock (`fcntl.flock`, freed
by the kernel when the process dies).
"""

import copy
import fcntl
import json
import math
import os
import re
import shutil
import tempfile
import threading

from handvol.data import capture
from handvol.hand import skeleton

KEYPOINTS = tuple(skeleton.KEYPOINT_NAMES[k] for k in skeleton.LAB6)
"""The six keypoints asked for, in the order the page asks for them (SPEC §2, Lab-6)."""
STATUSES = ("open", "done", "skipped")
ANNOTATOR_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_SECONDS = 3600.0
"""The most active time one request may report (longer is a stale tab, not work)."""


class Refused(ValueError):
  """A request the tool refuses; `status` is the HTTP status to answer with."""

  def __init__(self, message, status=400):
    super().__init__(message)
    self.status = status


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask


FILE_MODE = 0o666 & ~_umask()
"""Written files get the mode a plain `open` would give them (mkstemp's is 0600)."""


def _inside(path, root):
  return os.path.commonpath([path, root]) == root


class FrameIndex:
  """The PNG frames under a folder, by name (their path relative to it, with "/").

  Links are followed only when their target lies inside the folder; `skip` (the output folder
  when it sits inside) is left out.
  """

  def __init__(self, root, skip=None):
    self.root = os.path.realpath(root)
    if not os.path.isdir(self.root):
      raise FileNotFoundError(f"--frames {root}: not a folder")
    skip = os.path.realpath(skip) if skip else None
    names = []
    for folder, dirs, files in os.walk(self.root):
      dirs[:] = sorted(d for d in dirs if os.path.join(folder, d) != skip)
      for file in files:
        path = os.path.join(folder, file)
        if file.lower().endswith(".png") and _inside(os.path.realpath(path), self.root):
          names.append(os.path.relpath(path, self.root).replace(os.sep, "/"))
    if not names:
      raise FileNotFoundError(f"--frames {root}: no PNG frames in it")
    self.names = sorted(names)
    self._known = set(self.names)

  def path(self, name):
    """The file of frame `name`; raises `Refused` for anything but a listed frame."""
    if not isinstance(name, str) or not name:
      raise Refused("a frame name (a string) is required")
    parts = name.split("/")
    if name.startswith("/") or os.path.isabs(name) or "\\" in name or ":" in parts[0]:
      raise Refused(f"frame {name!r}: absolute paths are refused")
    if any(part in ("..", ".", "") for part in parts):
      raise Refused(f"frame {name!r}: '..', '.' and empty path parts are refused")
    if name not in self._known:
      raise Refused(f"frame {name!r}: no such frame under --frames", status=404)
    path = os.path.realpath(os.path.join(self.root, *parts))
    if not _inside(path, self.root):  # a link changed since the listing
      raise Refused(f"frame {name!r}: links out of --frames are refused", status=403)
    return path

  def index(self, name):
    return self.names.index(name)


def file_name(annotator):
  """The annotation file of an annotator ("" is the default one)."""
  if not annotator:
    return capture.ANNOTATION_FILE
  if not ANNOTATOR_PATTERN.fullmatch(annotator):
    raise ValueError(f"--annotator {annotator!r}: use 1 to 32 letters, digits, '_' or '-'")
  stem, extension = os.path.splitext(capture.ANNOTATION_FILE)
  return f"{stem}.{annotator}{extension}"


def write_json_atomically(path, content):
  """Writes `content` as JSON to `path` through a renamed temporary file (module docstring)."""
  folder = os.path.dirname(path)
  handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
  try:
    os.chmod(temporary, FILE_MODE)
    with os.fdopen(handle, "w", encoding="utf-8") as f:
      json.dump(content, f, indent=1)
      f.flush()
      os.fsync(f.fileno())
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise
  directory = os.open(folder, os.O_RDONLY)
  try:
    os.fsync(directory)  # the rename itself survives a power cut
  finally:
    os.close(directory)


def _copy_atomically(source, target):
  os.makedirs(os.path.dirname(target), exist_ok=True)
  handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".", suffix=".tmp")
  os.close(handle)
  shutil.copyfile(source, temporary)
  os.chmod(temporary, FILE_MODE)
  os.replace(temporary, target)


class Store:
  """One annotator's labels in a capture folder; every change is written before it returns.

  Args:
    out_dir: The output capture folder (created).
    frames: A `FrameIndex`.
    intrinsics: (fx, fy, cx, cy) of the frames, pixels.
    depth_unit_mm: mm per count of the frames' PNGs.
    annotator: "" for `annotations.json`, else a name (`file_name`).
  """

  def __init__(self, out_dir, frames, intrinsics, depth_unit_mm, annotator=""):
    self.out_dir = os.path.realpath(out_dir)
    self.frames = frames
    self.intrinsics = [float(value) for value in intrinsics]
    self.depth_unit_mm = float(depth_unit_mm)
    self.annotator = annotator
    self.path = os.path.join(self.out_dir, file_name(annotator))
    os.makedirs(self.out_dir, exist_ok=True)
    self._lock_file = self._take_lock()
    self._mutex = threading.Lock()
    self.keypoints, self.log, self.position = {}, {}, frames.names[0]
    if os.path.exists(self.path):
      self._load()

  def _take_lock(self):
    lock_path = os.path.join(self.out_dir, f".{os.path.basename(self.path)}.lock")
    lock_file = open(lock_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
    try:
      fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
      lock_file.close()
      raise RuntimeError(
          f"{self.path} is being written by another annotation server; stop it, or give this "
          "one its own file with --annotator NAME") from error
    return lock_file

  def close(self):
    self._lock_file.close()

  def _load(self):
    with open(self.path, encoding="utf-8") as f:
      meta = json.load(f)
    if meta.get("format") != capture.FORMAT_NAME:
      raise ValueError(f"{self.path}: not a {capture.FORMAT_NAME} file")
    if not all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(meta["intrinsics"],
                                                                   self.intrinsics)):
      raise ValueError(f"{self.path}: written with intrinsics {meta['intrinsics']}, not "
                       f"{self.intrinsics}; a capture folder has one camera")
    if not math.isclose(meta.get("depth_unit_mm", 1.0), self.depth_unit_mm):
      raise ValueError(f"{self.path}: written with depth_unit_mm {meta.get('depth_unit_mm')}, "
                       f"not {self.depth_unit_mm}")
    for entry in meta["frames"]:
      self.keypoints[entry["source"]] = dict(entry["keypoints"])
    section = meta.get("annotate", {})
    self.log = dict(section.get("log", {}))
    if section.get("position") in self.frames.names:
      self.position = section["position"]

  def frame_state(self, name):
    """The saved keypoints, status and seconds of a frame (copies)."""
    with self._mutex:
      entry = self.log.get(name, {"status": "open", "seconds": 0.0})
      return {"keypoints": copy.deepcopy(self.keypoints.get(name, {})),
              "status": entry["status"], "seconds": entry["seconds"]}

  def _touch(self, name, seconds, status=None):
    entry = self.log.setdefault(name, {"status": "open", "seconds": 0.0})
    entry["seconds"] = round(entry["seconds"] + seconds, 3)
    if status is not None:
      entry["status"] = status
    self.position = name

  def set_keypoint(self, name, keypoint, uv, visible, seconds=0.0):
    with self._mutex:
      self.keypoints.setdefault(name, {})[keypoint] = {
          "uv": [round(float(uv[0]), 2), round(float(uv[1]), 2)], "visible": int(visible)}
      self._touch(name, seconds)
      self._save(name)

  def remove_keypoint(self, name, keypoint, seconds=0.0):
    with self._mutex:
      self.keypoints.get(name, {}).pop(keypoint, None)
      if not self.keypoints.get(name):
        self.keypoints.pop(name, None)
      self._touch(name, seconds)
      self._save(name)

  def set_status(self, name, status, seconds=0.0):
    with self._mutex:
      self._touch(name, seconds, status)
      self._save(name)

  def visit(self, name, seconds=0.0):
    with self._mutex:
      self._touch(name, seconds)
      self._save(name)

  def _depth_name(self, name):
    return f"{capture.DEPTH_DIR}/{name}"

  def _save(self, changed):
    if changed in self.keypoints:
      target = os.path.join(self.out_dir, *self._depth_name(changed).split("/"))
      if not os.path.exists(target):
        _copy_atomically(self.frames.path(changed), target)
    write_json_atomically(self.path, self.content())

  def content(self):
    """The annotation file's JSON (module docstring)."""
    frames = []
    for name in self.frames.names:
      if name in self.keypoints:
        entry = {"depth": self._depth_name(name), "source": name, "subject": 0,
                 "keypoints": {k: self.keypoints[name][k] for k in KEYPOINTS
                               if k in self.keypoints[name]}}
        frames.append(entry)
    return {"format": capture.FORMAT_NAME, "version": capture.FORMAT_VERSION,
            "intrinsics": self.intrinsics, "depth_unit_mm": self.depth_unit_mm,
            "frames": frames,
            "annotate": {"annotator": self.annotator, "frames_dir": self.frames.root,
                         "position": self.position, "log": self.log}}
