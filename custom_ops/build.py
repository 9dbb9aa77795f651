"""Builds handvol's custom-op library `_handvol_ops.so` by hand (it is built on first use anyway).

The same command as `python -m handvol.ops.build`, runnable from a source tree without an install:
flags from `tf.sysconfig` alone, CUDA when nvcc is found, CPU loops for AVX-512, AVX2 and the
baseline in one binary; see docs/overlap_op.md.

  python custom_ops/build.py [--verbose]               # into the cache the loader reads
  python custom_ops/build.py --output PATH [--verbose] # a library file elsewhere, with its record
"""

import pathlib
import sys

from absl import app
from absl import flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from handvol.ops import build  # pylint: disable=wrong-import-position

_OUTPUT = flags.DEFINE_string("output", None, "Write the library here instead of the cache.")
_VERBOSE = flags.DEFINE_bool("verbose", False, "Print each compiler command.")


def main(argv):
  del argv
  sys.exit(build.main(_OUTPUT.value, _VERBOSE.value, prog="custom_ops/build.py"))


if __name__ == "__main__":
  app.run(main)
