"""Regenerates the default bone-length model `handvol/hand/data/bone_model.npz`.

The model comes from published anthropometric statistics (sources in
`handvol/hand/bone_lengths.py`); the writer is deterministic (no time stamps); the numbers agree across CPUs to 1e-9 mm
(LAPACK rounds with the vector width).

  python scripts/make_bone_model.py [--output=handvol/hand/data/bone_model.npz]
"""

from absl import app
from absl import flags

from handvol.hand import bone_lengths

_OUTPUT = flags.DEFINE_string("output", str(bone_lengths.DEFAULT_MODEL_PATH),
                              "Where to write the model (.npz).")


def main(argv):
  del argv
  model = bone_lengths.anthropometric_model()
  model.save(_OUTPUT.value)
  mean, std = bone_lengths.anthropometric_statistics()
  print(f"wrote {_OUTPUT.value}: mean bone lengths {mean.round(1)} mm, SD {std.round(1)} mm")


if __name__ == "__main__":
  app.run(main)
