"""Writes synthetic frames in a dataset's on-disk format.

    python -m handvol.data.synthetic --out=DIR --frames=N --format=nyu|hands2017|capture \
        [--subjects=nyu_like|handid_like|unseen_test] [--labels=MODE] [--views=frontal|sphere] \
        [--seed=S] [--sequences=K [--fps=30]]

With `--sequences=K`: K sequences of N frames each, one subject each (the set's subjects in
turn), in continuous motion (`handvol.data.synthetic.sequences`), in DIR/sequence_000, ...,
each with its truth and a timestamps file (`export.write_sequences`).
"""

from absl import app
from absl import flags

from handvol.data.synthetic import export
from handvol.data.synthetic import generator
from handvol.data.synthetic import labels
from handvol.data.synthetic import poses
from handvol.data.synthetic import sequences
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
_SEQUENCES = flags.DEFINE_integer("sequences", 0, "Write this many sequences of --frames "
                                  "frames each instead of independent frames.", lower_bound=0)
_FPS = flags.DEFINE_float("fps", sequences.SequenceConfig.fps, "Frames per second of a "
                          "sequence.", lower_bound=1e-3)


def main(argv):
  del argv
  config = generator.make_config(_VIEWS.value)
  if _SEQUENCES.value:
    folders = export.write_sequences(
        _OUT.value, _SEQUENCES.value, _FRAMES.value, _FORMAT.value, _SUBJECTS.value,
        _LABELS.value, _SEED.value, config, sequences.SequenceConfig(fps=_FPS.value))
    print(f"wrote {len(folders)} sequences of {_FRAMES.value} frames ({_FORMAT.value}) to "
          f"{_OUT.value}")
    return
  written = export.write_dataset(_OUT.value, _FRAMES.value, _FORMAT.value, _SUBJECTS.value,
                                 _LABELS.value, _SEED.value,
                                 config=config)
  print(f"wrote {written} frames ({_FORMAT.value}) to {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
