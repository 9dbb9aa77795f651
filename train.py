"""Trains a hand pose model and evaluates it: `python train.py [--config=NAME] [--workdir=DIR]`.

Flags hand a configuration (`handvol/configs/`) and a work directory to
`handvol.training.train_and_evaluate`; rerunning the same command resumes an interrupted run,
one with another config is refused (`--overwrite` starts afresh). A bad config value, bad input
or a fault (NaN, full disk, corrupt file) ends in one line on stderr and exit code 1.
"""

import os
import sys

from absl import app
from absl import flags

from handvol import configs
from handvol import training
from handvol.training import faults

_CONFIG = flags.DEFINE_string("config", "default", "A config in handvol/configs or a .py file.")
_WORKDIR = flags.DEFINE_string("workdir", "workdir", "Checkpoints, logs and summary.json.")
_SET = flags.DEFINE_multi_string("set", [], "Config override key.sub=value (repeatable).")
_STRATEGY = flags.DEFINE_enum("strategy", None, ["default", "mirrored", "multi_worker"],
                              "Distribution strategy; overrides train.strategy.")
_INIT = flags.DEFINE_string("init", None, "Initial weights: scratch, pretrained (the shipped "
                            "model, handvol.pretrained), a shipped run's name "
                            "(handvol.pretrained.RUNS) or a .keras file; sets train.init.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Remove a previous run's files from --workdir and start afresh.")


def main(argv):
  del argv
  settings = list(_SET.value)
  if _STRATEGY.value:
    settings.append(f"train.strategy={_STRATEGY.value}")
  if _INIT.value:
    settings.append(f"train.init={_INIT.value}")
  try:
    training.train_and_evaluate(configs.override(configs.load(_CONFIG.value), settings),
                                _WORKDIR.value, overwrite=_OVERWRITE.value)
    return
  except faults.USER_ERRORS as error:
    message = f"train.py: error: {error}"
  # Ends the process without unwinding it. A failed run's input pipelines are often still
  # reading: destroying one (by garbage collection or at interpreter exit) waits for its
  # reader threads, and a thread inside a `from_generator` reader waits for the GIL that the
  # destroying thread holds. gdb showed exactly that in a multi-worker run stopped over its
  # bad-frame budget (the main thread in ~MultiDeviceIterator, a map thread in
  # GeneratorDataset's Python call); it hung in one of two concurrent runs and in CI.
  # Checkpoints, logs and the non-finite batch list are written before the error is raised.
  sys.stdout.flush()
  sys.stderr.write(message + "\n")
  sys.stderr.flush()
  os._exit(1)  # pylint: disable=protected-access


if __name__ == "__main__":
  app.run(main)
