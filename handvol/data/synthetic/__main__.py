"""Writes synthetic frames in a dataset's on-disk format.

    python -m handvol.data.synthetic --out DIR --frames N --format nyu|hands2017|capture \
        [--subjects nyu_like|handid_like|unseen_test] [--labels MODE] [--seed S]
"""

import argparse
import sys

from handvol.data.synthetic import export
from handvol.data.synthetic import labels
from handvol.data.synthetic import subjects


def main(argv=None):
  parser = argparse.ArgumentParser(prog="python -m handvol.data.synthetic",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--out", required=True, help="output dataset folder")
  parser.add_argument("--frames", type=int, required=True, help="number of frames")
  parser.add_argument("--format", choices=export.FORMATS, required=True)
  parser.add_argument("--subjects", default="nyu_like", choices=sorted(subjects.SUBJECT_SETS))
  parser.add_argument("--labels", default=None, choices=labels.LABEL_MODES,
                      help="label mode (default: the format's usual labels, "
                      f"{export.DEFAULT_LABEL_MODES})")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  written = export.write_dataset(args.out, args.frames, args.format, args.subjects, args.labels,
                                 args.seed)
  print(f"wrote {written} frames ({args.format}) to {args.out}")


if __name__ == "__main__":
  sys.exit(main())
