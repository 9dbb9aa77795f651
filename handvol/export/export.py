"""Writes a trained model as a TF Serving SavedModel: `EXPORT_DIR/<model_name>/<version>/`.

Signatures (inputs and outputs by name; `handvol.export.serving` documents them):

- `serving_default`: full frames, `depth` float32 `[B, H, W]`, `depth_unit_mm` `[B]`,
  `intrinsics` `[B, 4]`, `reference_uvd` `[B, 3]`, `has_reference` `[B]`; pixels of the
  outputs are the frame's;
- `serving_uint16`: the same with `depth` uint16 (raw sensor counts);
- `predict_crop`: preprocessed crops, `depth_input` `[B, 128, 128, 1]`, `crop_intrinsics`
  `[B, 4]`, `center_xyz` `[B, 3]`; pixels of the outputs are the crop's.

Each returns `serving.OUTPUT_KEYS` (with `confidence` and `reason`; the frame signatures find
the hand with `handvol.image.localize` where no reference point is given). The version folder
also holds `assets.extra/handvol_export.json` (TF Serving's place for extra files): the
keypoint names, the cube size, the signatures and their inputs, the reference sources and
reasons, and the checkpoint it came from.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

import handvol
from handvol.data import atomic
from handvol.export import serving
from handvol.hand import skeleton
from handvol.image import preprocess
from handvol.model import hand_pose_model

SIGNATURE_FRAME = "serving_default"
SIGNATURE_FRAME_UINT16 = "serving_uint16"
SIGNATURE_CROP = "predict_crop"
FRAME_SIGNATURES = {SIGNATURE_FRAME: tf.float32, SIGNATURE_FRAME_UINT16: tf.uint16}
"""Frame signatures by the depth dtype they take."""
SIGNATURES = (SIGNATURE_FRAME, SIGNATURE_FRAME_UINT16, SIGNATURE_CROP)
"""Every signature of the export, in this order."""

METADATA_PATH = os.path.join("assets.extra", "handvol_export.json")
"""The export's description, relative to the version folder."""


def cube_from_workdir(checkpoint, default=preprocess.CUBE_MM):
  """The crop cube (mm) of the run a checkpoint belongs to: `data.cube_mm` of the work
  directory's `config.json` (`<workdir>/checkpoints/<name>.keras`), else `default`."""
  config_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(checkpoint))),
                             "config.json")
  if not os.path.isfile(config_path):
    return default
  with open(config_path, encoding="utf-8") as f:
    return float(json.load(f).get("data", {}).get("cube_mm", default))


def model_cube_mm(model_path):
  """The crop cube (mm) a model was trained with: an export's metadata (`preprocess.CUBE_MM`
  when it has none), a checkpoint's run (`cube_from_workdir`)."""
  if os.path.isdir(model_path):
    path = os.path.join(model_path, METADATA_PATH)
    if os.path.isfile(path):
      with open(path, encoding="utf-8") as f:
        return float(json.load(f)["cube_mm"])
    return preprocess.CUBE_MM
  return cube_from_workdir(model_path)


def load_checked(path):
  """`hand_pose_model.load_checkpoint` whose errors name the file and what is wrong with it
  (Keras says "File not found" for a truncated file that exists)."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such checkpoint file")
  try:
    return hand_pose_model.load_checkpoint(path)
  except (OSError, ValueError, KeyError) as error:
    raise ValueError(f"{path}: not a readable .keras checkpoint (truncated or corrupt: "
                     f"{str(error).splitlines()[0] if str(error) else type(error).__name__})"
                     ) from None


def refuse_nonfinite(model, what):
  """Raises `ValueError` naming `what` and the first weight when a weight is NaN or Inf."""
  for variable in model.weights:
    if not np.all(np.isfinite(keras.ops.convert_to_numpy(variable.value))):
      raise ValueError(f"{what}: the model's weights hold NaN or Inf (first: {variable.path}); "
                       "export a checkpoint of a run that trained without NaN")


def serving_functions(model, cube_mm=preprocess.CUBE_MM, refiner=serving.DEFAULT_REFINER):
  """The signature functions of the export, by signature name, with their input specs
  (`refiner`: `serving.DEFAULT_REFINER`).

  Returns:
    A dict name → (function of the inputs in `serving.*_INPUT_KEYS` order, tuple of
    `tf.TensorSpec`).
  """
  def frame_function(signature):
    return lambda *inputs: serving.predict_frames(
        model, *serving.ensure_signature(inputs, signature), cube_mm=cube_mm, refiner=refiner)

  def crop_function(*inputs):
    return serving.predict_crops(model, *serving.ensure_signature(inputs, crop_signature))

  crop_signature = serving.crop_signature()
  functions = {}
  for name, dtype in FRAME_SIGNATURES.items():
    signature = serving.frame_signature(dtype)
    functions[name] = (frame_function(signature), signature)
  functions[SIGNATURE_CROP] = (crop_function, crop_signature)
  return functions


def metadata(cube_mm, checkpoint=None, refined=True):
  """The JSON-able description written to `METADATA_PATH` (`refined`: whether the frame
  signatures refine the localiser's point)."""
  inputs = {name: list(serving.FRAME_INPUT_KEYS) for name in FRAME_SIGNATURES}
  inputs[SIGNATURE_CROP] = list(serving.CROP_INPUT_KEYS)
  return {
      "handvol_version": handvol.__version__,
      "checkpoint": checkpoint,
      "cube_mm": cube_mm,
      "centre_refiner": refined,
      "crop_size": preprocess.CROP_SIZE,
      "keypoint_names": list(skeleton.KEYPOINT_NAMES),
      "keypoint_parents": list(skeleton.KEYPOINT_PARENTS),
      "signature_inputs": inputs,
      "outputs": list(serving.OUTPUT_KEYS),
      "reference_sources": list(serving.REFERENCE_SOURCES),
      "reasons": list(serving.REASONS),
      "min_valid_crop_pixels": serving.MIN_VALID_CROP_PIXELS,
  }


def export_model(model, export_dir, model_name, version, cube_mm=preprocess.CUBE_MM,
                 checkpoint=None, refiner=serving.DEFAULT_REFINER):
  """Writes `model`'s serving SavedModel to `export_dir/model_name/version/`.

  Args:
    model: A built `HandPoseModel`.
    export_dir: The model base folder of TF Serving's layout.
    model_name: The model's folder name (TF Serving's MODEL_NAME).
    version: A positive integer version.
    cube_mm: The crop cube's side in mm the model was trained with.
    checkpoint: Optional checkpoint path, recorded in the metadata.
    refiner: The localiser's centre refiner (`serving.DEFAULT_REFINER`: the shipped one;
      None: the localiser's point as it is), part of the frame signatures' graph.

  Returns:
    The version folder's path.
  """
  version = int(version)
  if version <= 0:
    raise ValueError(f"version must be a positive integer (TF Serving's layout), got {version}")
  if not model_name or os.sep in model_name:
    raise ValueError(f"model_name must be a plain folder name, got {model_name!r}")
  path = os.path.join(export_dir, model_name, str(version))
  if os.path.exists(path):
    raise FileExistsError(f"{path} exists; TF Serving versions are immutable, pick a new one")
  refuse_nonfinite(model, checkpoint or "the model")
  refiner = serving.resolve_refiner(refiner)
  archive = keras.export.ExportArchive()
  archive.track(model)
  if refiner is not None:
    refuse_nonfinite(refiner, "the centre refiner")
    archive.track(refiner)
  for name, (function, signature) in serving_functions(model, cube_mm, refiner).items():
    archive.add_endpoint(name, function, input_signature=list(signature))
  # Written under a hidden name, renamed when complete: TF Serving never loads half a version.
  with atomic.atomic_new_folder(path, needed_bytes=_weight_bytes(model) + 8 * atomic.MIB) as temp:
    archive.write_out(temp, verbose=False)
    os.makedirs(os.path.join(temp, os.path.dirname(METADATA_PATH)), exist_ok=True)
    with open(os.path.join(temp, METADATA_PATH), "w", encoding="utf-8") as f:
      json.dump(metadata(cube_mm, checkpoint, refiner is not None), f, indent=2)
  return path


def _weight_bytes(model):
  return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in model.weights)
