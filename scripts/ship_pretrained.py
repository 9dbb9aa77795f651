"""Puts a training run into the package as a shipped run: a work directory in miniature.

    python scripts/ship_pretrained.py --workdir RUN --name NAME

Writes `handvol/pretrained/NAME/`: the run's `config.json`, `checkpoints/best.keras` (its best
checkpoint's weights without the optimizer's state: about a third of the file) and, where the
run has them, `checkpoints/best.keras.json` (which epoch was best) and `summary.json`. Add NAME
to `handvol.pretrained.RUNS` (and make it `NAME` there to make it the default).
"""

import os
import pathlib
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from absl import app  # pylint: disable=wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position

from handvol.model import hand_pose_model  # pylint: disable=wrong-import-position

_WORKDIR = flags.DEFINE_string("workdir", None, "The training run.", required=True)
_NAME = flags.DEFINE_string("name", None, "The shipped run's name.", required=True)

COPIED = ("config.json", "summary.json", "checkpoints/best.keras.json")


def ship(workdir, name):
  """Writes the shipped run `name` from `workdir` (module docstring); returns its folder."""
  workdir = pathlib.Path(workdir)
  checkpoint = workdir / "checkpoints" / "best.keras"
  if not (workdir / "config.json").is_file() or not checkpoint.is_file():
    raise SystemExit(f"{workdir}: not a training run with a best checkpoint")
  target = ROOT / "handvol" / "pretrained" / name
  (target / "checkpoints").mkdir(parents=True, exist_ok=True)
  for relative in COPIED:
    if (workdir / relative).is_file():
      shutil.copyfile(workdir / relative, target / relative)
  # Loaded uncompiled, the model has no optimizer, so none is saved.
  hand_pose_model.load_checkpoint(str(checkpoint)).save(target / "checkpoints" / "best.keras")
  return target


def main(argv):
  del argv
  target = ship(_WORKDIR.value, _NAME.value)
  for path in sorted(target.rglob("*")):
    if path.is_file():
      print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
  app.run(main)
