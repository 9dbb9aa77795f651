"""Exports a checkpoint for TF Serving, and optionally for LiteRT and ONNX Runtime.

  python -m handvol.export --checkpoint workdir/checkpoints/best.keras \
      --export_dir exports --model_name handvol --version 1 [--formats litert,onnx]

writes `exports/handvol/1/` (`handvol.export.export` lists its signatures) and, with
`--formats`, `exports/handvol/1/litert/<signature>.tflite` and `.../onnx/<signature>.onnx`
(`handvol.export.portable`). The crop cube comes from the run's `config.json` beside the
checkpoint's folder unless `--cube_mm` is given.
"""

from absl import app
from absl import flags

from handvol.data import atomic
from handvol.export import export
from handvol.export import portable

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A .keras checkpoint of HandPoseModel.")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "TF Serving's model base folder.")
_MODEL_NAME = flags.DEFINE_string("model_name", "handvol", "The model's folder name.")
_VERSION = flags.DEFINE_integer("version", 1, "The version folder (a positive integer).")
_CUBE_MM = flags.DEFINE_float("cube_mm", None,
                              "Crop cube side in mm; default: the run's config.json, else 300.")
_FORMATS = flags.DEFINE_list("formats", [],
                             f"Also convert to these runtimes: {', '.join(portable.FORMATS)}.")
flags.mark_flags_as_required(["checkpoint", "export_dir"])


def main(argv):
  del argv
  try:
    cube_mm = _CUBE_MM.value or export.cube_from_workdir(_CHECKPOINT.value)
    model = export.load_checked(_CHECKPOINT.value)
    portable.check_formats(_FORMATS.value, "--formats")  # before anything is written
    path = export.export_model(model, _EXPORT_DIR.value, _MODEL_NAME.value, _VERSION.value,
                               cube_mm=cube_mm, checkpoint=_CHECKPOINT.value)
    converted = portable.convert(path, _FORMATS.value) if _FORMATS.value else {}
  except (ValueError, OSError, ImportError, RuntimeError, atomic.DiskFullError) as error:
    raise SystemExit(f"handvol.export: error: {error}") from None
  print(path)
  for files in converted.values():
    for file in files.values():
      print(file)


if __name__ == "__main__":
  app.run(main)
