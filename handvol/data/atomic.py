"""Atomic file writes: nothing half-written is ever visible under a file's real name.

Every file handvol writes for a user (checkpoints, backups, exports, reports, prediction files,
annotation files of a capture folder) goes through `atomic_path`: the writer writes a
temporary name in the same folder, which is flushed to disk and renamed over the real name
(`os.replace`, atomic on POSIX) only when the write finished. A failed write (a crash, a full
disk) leaves the previous file as it was and removes the temporary one.

A full disk is checked twice: before the write, against an estimate of the file's size (HDF5
may crash rather than raise when the disk fills during a write), and after, when the write
raised `ENOSPC`; both raise `DiskFullError` naming the path and the free space.
"""

import contextlib
import errno
import json
import os
import shutil

TEMP_PREFIX = ".tmp-"
"""Temporary names start with this (hidden; TF Serving and globs of real names skip them)."""

MIB = 2 ** 20


class DiskFullError(OSError):
  """A write refused or failed for lack of space; the message names the path and free space."""

  def __str__(self):
    return str(self.strerror)


def free_bytes(path):
  """Free bytes on the filesystem holding `path` (its nearest existing parent folder)."""
  folder = os.path.abspath(path)
  while not os.path.isdir(folder):
    folder = os.path.dirname(folder)
  return shutil.disk_usage(folder).free


def _disk_full(path, needed=None):
  free = free_bytes(path)
  need = f", about {needed / MIB:.1f} MiB needed" if needed else ""
  return DiskFullError(errno.ENOSPC,
                       f"{path}: no space left on the device ({free / MIB:.1f} MiB free{need}); "
                       "the previous file, if any, is kept: free some space and rerun")


@contextlib.contextmanager
def _enospc_names(path, needed_bytes):
  """Turns an `ENOSPC` raised inside into a `DiskFullError` naming `path` and the free space."""
  try:
    yield
  except OSError as error:
    if error.errno == errno.ENOSPC and not isinstance(error, DiskFullError):
      raise _disk_full(path, needed_bytes) from error
    raise


def temp_name(path, suffix=""):
  """A hidden temporary path beside `path`, unique to this process, ending in `suffix`."""
  folder, name = os.path.split(os.path.abspath(path))
  return os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{name}{suffix}")


@contextlib.contextmanager
def atomic_path(path, needed_bytes=0, suffix=""):
  """Yields a temporary path to write instead of `path`; renames it over `path` on success.

  Args:
    path: The file's real name (its folder is created).
    needed_bytes: An estimate of the file's size: fewer free bytes raise `DiskFullError`
      before anything is written.
    suffix: A suffix the writer requires of its file name (".keras", ".weights.h5").

  Raises:
    DiskFullError: too little space, before or during the write.
  """
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if needed_bytes and free_bytes(path) < needed_bytes:
    raise _disk_full(path, needed_bytes)
  temp = temp_name(path, suffix)
  try:
    with _enospc_names(path, needed_bytes):
      yield temp
      with open(temp, "rb+") as f:
        os.fsync(f.fileno())
      os.replace(temp, path)
  finally:
    if os.path.lexists(temp):
      os.remove(temp)


def write_bytes(path, data):
  """Writes `data` (bytes) to `path` atomically."""
  with atomic_path(path, needed_bytes=len(data)) as temp:
    with open(temp, "wb") as f:
      f.write(data)


def write_text(path, text):
  """Writes `text` (UTF-8) to `path` atomically."""
  write_bytes(path, text.encode("utf-8"))


def write_json(path, value, indent=2):
  """Writes `value` as strict JSON (NaN and Infinity refused: `ValueError`) atomically."""
  write_text(path, json.dumps(value, indent=indent, allow_nan=False) + "\n")


def move_files_into(source_dir, target_dir):
  """Renames every file of `source_dir` (a finished temporary folder) into `target_dir`, one
  atomic rename per file, sub-folders too, then removes `source_dir`."""
  for folder, _, names in os.walk(source_dir):
    target = os.path.join(target_dir, os.path.relpath(folder, source_dir))
    os.makedirs(target, exist_ok=True)
    for name in names:
      os.replace(os.path.join(folder, name), os.path.join(target, name))
  shutil.rmtree(source_dir)


@contextlib.contextmanager
def atomic_folder_files(target_dir, needed_bytes=0):
  """Yields a temporary folder beside `target_dir` to write a set of files into (a report);
  on success each file is renamed into `target_dir`, on failure none is and the temporary
  folder is removed. The files of `target_dir` are each either the old or the new one."""
  os.makedirs(target_dir, exist_ok=True)
  if needed_bytes and free_bytes(target_dir) < needed_bytes:
    raise _disk_full(target_dir, needed_bytes)
  temp = temp_name(target_dir.rstrip(os.sep))
  os.makedirs(temp)
  try:
    with _enospc_names(target_dir, needed_bytes):
      yield temp
      move_files_into(temp, target_dir)
  finally:
    if os.path.isdir(temp):
      shutil.rmtree(temp)


@contextlib.contextmanager
def atomic_new_folder(path, needed_bytes=0):
  """Yields a hidden temporary folder beside `path` (which must not exist) to fill; renames
  it to `path` in one step on success (a SavedModel version appears whole or not at all),
  removes it on failure."""
  if os.path.exists(path):
    raise FileExistsError(f"{path} exists")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if needed_bytes and free_bytes(path) < needed_bytes:
    raise _disk_full(path, needed_bytes)
  temp = temp_name(path)
  os.makedirs(temp)
  try:
    with _enospc_names(path, needed_bytes):
      yield temp
      os.rename(temp, path)
  finally:
    if os.path.isdir(temp):
      shutil.rmtree(temp)
