"""Writes synthetic frames in a dataset's on-disk format.

    python -m handvol.data.synthetic --out=DIR --frames=N --format=nyu|hands2017|capture \
        [--subjects=nyu_like|handid_like|unseen_test] [--labels=MODE] [--views=frontal|sphere] \
        [--seed=S]
"""

from absl import app
from absl import flags

from handvol.data.synthetic import export
from handvol.data.synthetic import generator
from handvol.data.synthetic import labels
from handvol.data.synthetic import poses
from handvol.data.synthetic import subjects

_OUT = flags.DEFINE_string("out", None, "Output dataset folder.", required=True)
_FRAMES = flags.DEFINE_integer("frames", None, "Number of frames.", lower_bound=1,
                               required=True)
_FORMAT = flags.DEFINE_enum("format", None, list(export.FORMATS), "On-disk format.",
                            required=True)
_SUBJECTS = flags.DEFINE_enum("subjects", "nyu_like", sorted(subjects.SUBJECT_SETS),
                              "Subject set.")
_LABELS = flags.DEFINE_enum("labels", None, list(labels.LABEL_MODES),
                            f"Label mode (default: the format's usual labels, "
                            f"{export.DEFAULT_LABEL_MODES}).")
_VIEWS = flags.DEFINE_enum("views", "frontal", sorted(poses.VIEW_PRESETS),
                           "Viewpoint distribution (handvol.data.synthetic.poses.VIEW_PRESETS).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the frames.")


def main(argv):
  del argv
  written = export.write_dataset(_OUT.value, _FRAMES.value, _FORMAT.value, _SUBJECTS.value,
                                 _LABELS.value, _SEED.value,
                                 config=generator.make_config(_VIEWS.value))
  print(f"wrote {written} frames ({_FORMAT.value}) to {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
