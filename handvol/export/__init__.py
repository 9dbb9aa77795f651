"""Export and serving: a SavedModel of stock TF ops for TF Serving, and the `predict` command.

- `serving`: the batched inference functions (full frames, crops) and their output table;
- `export`: `export_model(model, export_dir, model_name, version)` writes
  `export_dir/model_name/version/` (`python -m handvol.export --checkpoint ...`);
- `portable`: the export's signatures as LiteRT and ONNX files, and `Runner` to call them
  (`python -m handvol.export ... --formats litert,onnx`);
- `rest`: TF Serving's JSON request and response forms, emulated for tests and local runs;
- `predict`: depth PNGs → JSON of joints and overlay images
  (`python -m handvol.export.predict`).

`docs/serving.md` shows deployment with TF Serving.
"""

from handvol.export.export import export_model
from handvol.export.serving import OUTPUT_KEYS
from handvol.export.serving import predict_crops
from handvol.export.serving import predict_frames
from handvol.model.hand_pose_model import load_checkpoint
