"""The export in a fresh Python process that never imports handvol: it loads, runs both kinds of
signature, and its graph holds only ops that process's TensorFlow registers."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from handvol.export import export
from handvol.export import serving

from .conftest import INTRINSICS, hand_frame

# Runs in the child: no handvol import, no op library; argv = export, inputs .npz, outputs .npz.
CHILD = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

path, inputs_path, outputs_path = sys.argv[1:]
inputs = np.load(inputs_path)
loaded = tf.saved_model.load(path)
results = {}
for name, function in loaded.signatures.items():
  feed = {key.split("/", 1)[1]: tf.constant(inputs[key]) for key in inputs.files
          if key.startswith(name + "/")}
  if feed:
    for key, value in function(**feed).items():
      results[f"{name}/{key}"] = value.numpy()
np.savez(outputs_path, **results)

proto = saved_model_pb2.SavedModel()
with open(os.path.join(path, "saved_model.pb"), "rb") as f:
  proto.ParseFromString(f.read())
ops, functions = set(), set()
for graph in proto.meta_graphs:
  ops.update(node.op for node in graph.graph_def.node)
  for function in graph.graph_def.library.function:
    functions.add(function.signature.name)
    ops.update(node.op for node in function.node_def)
ops -= functions  # Calls of the library's own functions.
with open("/proc/self/maps") as f:
  maps = f.read()
print(json.dumps({
    "signatures": sorted(loaded.signatures),
    "ops": sorted(ops),
    "unregistered": sorted(op for op in ops if op_def_registry.get(op) is None),
    "handvol_modules": sorted(m for m in sys.modules if m.split(".")[0] == "handvol"),
    "op_library_mapped": "_handvol_ops" in maps,
}))
"""


def _inputs():
  depth = np.stack([hand_frame(), np.zeros_like(hand_frame())])
  frame = {"depth": depth, "depth_unit_mm": np.ones([2], np.float32),
           "intrinsics": np.tile(INTRINSICS, (2, 1)),
           "reference_uvd": np.zeros([2, 3], np.float32),
           "has_reference": np.zeros([2], np.float32)}
  crop = {"depth_input": np.linspace(-1, 1, 128 * 128, dtype=np.float32).reshape(1, 128, 128, 1),
          "crop_intrinsics": np.array([[200.0, 200.0, 63.5, 63.5]], np.float32),
          "center_xyz": np.array([[0.0, 0.0, 400.0]], np.float32)}
  named = {f"{export.SIGNATURE_FRAME}/{k}": v for k, v in frame.items()}
  named.update({f"{export.SIGNATURE_CROP}/{k}": v for k, v in crop.items()})
  return named


def test_fresh_process_loads_and_runs_the_export(trained_like, tmp_path):
  _, path = trained_like
  inputs = _inputs()
  np.savez(tmp_path / "inputs.npz", **inputs)
  env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
  env["TF_CPP_MIN_LOG_LEVEL"] = "2"
  child = subprocess.run(
      [sys.executable, "-c", CHILD, path, str(tmp_path / "inputs.npz"),
       str(tmp_path / "outputs.npz")],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
  assert child.returncode == 0, child.stderr[-3000:]
  report = json.loads(child.stdout.strip().splitlines()[-1])
  assert report["signatures"] == sorted([*export.FRAME_SIGNATURES, export.SIGNATURE_CROP])
  assert report["handvol_modules"] == [] and not report["op_library_mapped"]
  assert report["unregistered"] == []
  assert not [op for op in report["ops"] if op.startswith("Handvol>")]
  assert "Conv2D" in report["ops"]  # Only in the function bodies: the listing saw them.
  # The localiser is in the graph, in stock ops: its label propagation loop and segment sums;
  # none of the ops that LiteRT and ONNX lack (handvol.geometry.linalg replaces them).
  assert {"UnsortedSegmentMin", "UnsortedSegmentSum"} <= set(report["ops"])
  assert not {"SelfAdjointEigV2", "Cross", "MatrixDiagPartV3"} & set(report["ops"])
  assert {"While", "StatelessWhile"} & set(report["ops"])

  # Same numbers as this process gets from the same export.
  outputs = np.load(tmp_path / "outputs.npz")
  loaded = tf.saved_model.load(path)
  for name in (export.SIGNATURE_FRAME, export.SIGNATURE_CROP):
    expected = loaded.signatures[name](**{key.split("/", 1)[1]: tf.constant(value)
                                          for key, value in inputs.items()
                                          if key.startswith(name + "/")})
    for key in serving.OUTPUT_KEYS:
      np.testing.assert_allclose(outputs[f"{name}/{key}"], expected[key], atol=1e-4,
                                 err_msg=f"{name}/{key}")
  assert outputs[f"{export.SIGNATURE_FRAME}/valid"].tolist() == [1, 0]
  assert outputs[f"{export.SIGNATURE_FRAME}/reference_source"][0] == serving.SOURCE_LOCALIZER
  assert (outputs[f"{export.SIGNATURE_FRAME}/reason"].tolist()
          == [0, serving.REASONS.index("no_hand_found")])


def test_saved_model_cli_runs_the_documented_command(trained_like, tmp_path):
  """`saved_model_cli run --inputs name=file.npy;...` as in docs/serving.md."""
  _, path = trained_like
  frame = {key.split("/", 1)[1]: value[:1] for key, value in _inputs().items()
           if key.startswith(export.SIGNATURE_FRAME + "/")}
  for key, value in frame.items():
    np.save(tmp_path / f"{key}.npy", value)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  env.pop("PYTHONPATH", None)
  command = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "run",
             "--dir", path, "--tag_set", "serve", "--signature_def", export.SIGNATURE_FRAME,
             "--inputs", ";".join(f"{key}={key}.npy" for key in frame),
             "--outdir", str(tmp_path / "cli_outputs")]
  child = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300, check=False)
  assert child.returncode == 0, child.stderr[-3000:]
  expected = tf.saved_model.load(path).signatures[export.SIGNATURE_FRAME](
      **{key: tf.constant(value) for key, value in frame.items()})
  for key in serving.OUTPUT_KEYS:
    np.testing.assert_allclose(np.load(tmp_path / "cli_outputs" / f"{key}.npy"), expected[key],
                               atol=1e-4, err_msg=key)
