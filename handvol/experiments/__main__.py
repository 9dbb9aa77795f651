"""Runs the reproduction study (`handvol.experiments.study`), or a part or a variant of it.

    python -m handvol.experiments --preset=smoke|cpu|paper --workdir=DIR [--publish]
    python -m handvol.experiments --preset=cpu --workdir=DIR2 --only=e1/full \\
        --set=loss.weights.lim=1.0
"""

import pathlib
import sys

from absl import app
from absl import flags

from handvol.experiments import configurations
from handvol.experiments import study

_PRESET = flags.DEFINE_enum("preset", "cpu", sorted(configurations.PRESETS),
                            "Size of the study (handvol/experiments/configurations.py).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Work directory (rerun to resume).",
                               required=True)
_PUBLISH = flags.DEFINE_bool("publish", False, "Copy the report and figures to --results_dir.")
_RESULTS_DIR = flags.DEFINE_string("results_dir", "docs/results", "Where --publish copies to.")
_ONLY = flags.DEFINE_list("only", [], "Configuration keys to run (e.g. e1/full,e1/no_dissim); "
                          "writes variant.md instead of the study's report.")
_SET = flags.DEFINE_multi_string("set", [], "Extra key=value setting for every configuration "
                                 "run (repeatable); writes variant.md.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  result, written = study.run(configurations.PRESETS[_PRESET.value], _WORKDIR.value,
                              " ".join(["python -m handvol.experiments"] + sys.argv[1:]),
                              tuple(_ONLY.value), tuple(_SET.value))
  if _PUBLISH.value:
    study.publish(_WORKDIR.value, written, _RESULTS_DIR.value)
  print(f"[reproduce] done in {result['wall_seconds'] / 60:.1f} min; report: "
        f"{pathlib.Path(_WORKDIR.value) / written[-1]}", flush=True)


if __name__ == "__main__":
  app.run(main)
