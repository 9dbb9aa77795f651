"""A work directory remembers its configuration.

The first run writes `config.json` (atomically). A rerun with the same configuration resumes;
with another one it is refused, naming the keys that differ, before anything is written: the
checkpoints and backups of one model cannot be resumed by another. `overwrite=True`
(`train.py --overwrite`) removes the previous run's files (`RUN_FILES`, nothing else of the
folder) and starts afresh.
"""

import json
import os
import shutil

from handvol.data import atomic
from handvol.training import faults

CONFIG_FILE = "config.json"

RUN_FILES = (CONFIG_FILE, "summary.json", "skip_log.txt", "backup", "checkpoints",
             "checkpoints_multi_worker", "tensorboard", "evaluation")
"""What a run writes into its work directory; `--overwrite` removes exactly these."""

MAX_LISTED = 6
"""Differing keys named in the refusal (then "and N more")."""


def as_json(config):
  """The config as `config.json` holds it (tuples become lists)."""
  return json.loads(json.dumps(config, allow_nan=False))


def differences(old, new, prefix=""):
  """Dotted keys whose values differ between two JSON-like configs, as "key: old → new"."""
  if isinstance(old, dict) and isinstance(new, dict):
    found = []
    for key in sorted(set(old) | set(new), key=str):
      name = f"{prefix}{key}"
      if key not in old or key not in new:
        found.append(f"{name}: {'absent' if key not in old else old[key]!r} → "
                     f"{'absent' if key not in new else new[key]!r}")
      else:
        found += differences(old[key], new[key], name + ".")
    return found
  if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
    return [d for index, (a, b) in enumerate(zip(old, new))
            for d in differences(a, b, f"{prefix}{index}.")]
  return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} → {new!r}"]


def clear(workdir):
  """Removes a previous run's files (`RUN_FILES`) from `workdir`."""
  for name in RUN_FILES:
    path = os.path.join(workdir, name)
    if os.path.isdir(path):
      shutil.rmtree(path)
    elif os.path.lexists(path):
      os.remove(path)


def prepare(workdir, config, overwrite=False, write=True):
  """Makes `workdir` ready for `config`: fresh, resumable, or refused.

  Args:
    workdir: The work directory (created).
    config: The validated config dict.
    overwrite: Remove a previous run's files first.
    write: Write `config.json` (the chief does; other workers only check).

  Raises:
    faults.WorkdirMismatchError: `workdir` holds a run of another config (names the keys).
    faults.CorruptFileError: its `config.json` cannot be read.
  """
  os.makedirs(workdir, exist_ok=True)
  if overwrite and write:
    clear(workdir)
  path = os.path.join(workdir, CONFIG_FILE)
  new = as_json(config)
  if os.path.isfile(path):
    try:
      with open(path, encoding="utf-8") as f:
        old = json.load(f)
    except (OSError, ValueError) as error:
      raise faults.CorruptFileError(f"{path}: cannot be read ({error}); rerun with --overwrite "
                                    "to start this work directory afresh") from None
    found = differences(old, new)
    if found:
      more = f" and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
      raise faults.WorkdirMismatchError(
          f"{workdir} holds a run of another config ({path}); differing keys: "
          f"{'; '.join(found[:MAX_LISTED])}{more}. Rerun with the same config to resume, with "
          "--overwrite to start afresh, or choose another --workdir")
  elif write:
    atomic.write_json(path, new)


def write_skip_log(workdir, logs):
  """Writes `skip_log.txt`: per reader source, the frames skipped and why.

  Args:
    workdir: The work directory.
    logs: A dict source name (e.g. "data.train.0") → `handvol.data.records.SkipLog`.

  Returns:
    The total of skipped frames.
  """
  lines, total = [], 0
  for name, log in logs.items():
    if not log.seen:  # Not a reader source (synthetic, TFRecords): nothing is skipped.
      continue
    lines.append(f"{name}: {log.count} bad frame(s) skipped")
    lines += [f"  {entry}" for entry in log.entries]
    total += log.count
  atomic.write_text(os.path.join(workdir, "skip_log.txt"), "\n".join(lines) + "\n")
  return total
