"""Builds handvol's custom-op library `_handvol_ops.so` by hand (it is built on first use anyway).

The build itself is `handvol.ops.build` (flags from `tf.sysconfig` alone, CUDA when nvcc is
found, CPU loops for AVX-512, AVX2 and the baseline in one binary); see docs/overlap_op.md.

  python custom_ops/build.py                 # into the cache the loader reads, as first use does
  python custom_ops/build.py --output PATH   # a library file elsewhere (with its build record)
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from handvol.ops import build  # pylint: disable=wrong-import-position


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--output", help="library file to write (default: the loader's cache)")
  parser.add_argument("--quiet", action="store_true", help="do not print the commands")
  args = parser.parse_args(argv)
  try:
    if args.output:
      info = build.build_library(args.output, verbose=not args.quiet)
    else:
      path = build.ensure_library(verbose=not args.quiet)
      info = {"library": str(path), **build.read_build_info(path.parent)}
  except build.BuildError as error:
    print(f"custom_ops/build.py: {error}", file=sys.stderr)
    return 1
  print(json.dumps(info))
  return 0


if __name__ == "__main__":
  sys.exit(main())
