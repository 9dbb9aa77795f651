"""The serving SavedModel in other runtimes: LiteRT (XNNPACK on CPU) and ONNX Runtime.

  python -m handvol.export --checkpoint ... --export_dir exports --formats=litert,onnx

converts each signature of the version folder (`export.SIGNATURES`) to
`<version>/litert/<signature>.tflite` (the LiteRT converter of `tf.lite`) and
`<version>/onnx/<signature>.onnx` (`tf2onnx`, opset `ONNX_OPSET`). The graphs are
the SavedModel's, op for op: the localiser, the preprocessing, the network and the hand model,
with the same input and output names (`serving.FRAME_INPUT_KEYS`, `serving.CROP_INPUT_KEYS`,
`serving.OUTPUT_KEYS`) and dtypes, batch, height and width dynamic. What the formats do not do:

- The batch-size and shape checks of the SavedModel (`tf.debugging.assert_*`) are dropped by
  both converters; a wrong shape fails in the runtime's own words.
- ONNX names a tensor once, so the frame signatures' output `reference_uvd` (an input name too)
  is `reference_uvd_out` in their `.onnx` files (`ONNX_RENAMED_OUTPUTS`); `Runner` returns it
  as `reference_uvd`.
- LiteRT's signature runner resizes its inputs per call, which re-plans the graph when the frame
  size or batch changes; keep one shape per interpreter for speed.

`Runner(path)` runs either file with one call shape (a dict of numpy inputs by name → a dict of
numpy outputs by name), for tests, `bench/runtimes.py` and users. The runtimes are optional
extras (`pip install "handvol[litert]"`, `"handvol[onnx]"`); importing this module needs neither.
"""

import contextlib
import os

import numpy as np
import tensorflow as tf

from handvol.data import atomic
from handvol.export import export

FORMATS = ("litert", "onnx")
ONNX_OPSET = 18
"""ONNX opset of the conversion (the first with ScatterElements' "min" reduction)."""

SUFFIX = {"litert": ".tflite", "onnx": ".onnx"}

ONNX_RENAMED_OUTPUTS = {"reference_uvd": "reference_uvd_out"}
"""Outputs that share an input's name, and their names in the ONNX files."""


def check_formats(formats, flag=None):
  """Raises `ValueError` naming the entries of `formats` that are not in `FORMATS` (and the
  command-line `flag` they came from, if any)."""
  unknown = sorted(set(formats) - set(FORMATS))
  if unknown:
    what = f"{flag}: unknown {unknown}" if flag else f"unknown formats {unknown}"
    raise ValueError(f"{what}; choose from {list(FORMATS)}")


def _missing(package, extra):
  return ImportError(f"{package} is not installed: pip install \"handvol[{extra}]\"")


def convert_litert(saved_model, signature, output_path):
  """Writes `signature` of the SavedModel folder `saved_model` as a LiteRT flatbuffer.

  Builtin ops only (no TF Select ops): the file runs in the plain `ai-edge-litert` interpreter.

  Returns:
    `output_path`.
  """
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=[signature])
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  flatbuffer = converter.convert()
  atomic.write_bytes(output_path, flatbuffer)
  return output_path


def convert_onnx(saved_model, signature, output_path, opset=ONNX_OPSET, linear_if=True):
  """Writes `signature` of the SavedModel folder as an ONNX model (`tf2onnx.convert`).

  The signature is loaded from the SavedModel and converted with `segment_handlers()` in place
  of tf2onnx's own segment ops (which build a dense `[N, segments]` one-hot: 1.5 GB for one
  640×480 frame's localiser), under `linear_if_wiring()` unless `linear_if` is False (for
  `bench/onnx_conversion.py`'s baseline). The result must pass `onnx.checker`, so that no op
  is left unconverted.

  Returns:
    `output_path`.
  """
  try:
    import onnx  # pylint: disable=import-outside-toplevel
    import tf2onnx  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise _missing("tf2onnx", "onnx") from None
  function = _renamed_signature(tf.saved_model.load(saved_model), signature)
  with linear_if_wiring() if linear_if else contextlib.nullcontext():
    model, _ = tf2onnx.convert.from_function(
        function, input_signature=list(function.input_signature), opset=opset,
        custom_op_handlers=segment_handlers())
  onnx.checker.check_model(model)
  atomic.write_bytes(output_path, model.SerializeToString())
  return output_path


def _renamed_signature(loaded, signature):
  """A `tf.function` of a loaded SavedModel's signature with the same named inputs whose
  outputs are named as in the ONNX file (`ONNX_RENAMED_OUTPUTS` where an input has the same
  name). It holds `loaded`, whose variables the signature reads."""
  concrete = loaded.signatures[signature]
  _, specs = concrete.structured_input_signature
  names = sorted(specs)
  input_signature = [tf.TensorSpec(specs[name].shape, specs[name].dtype, name=name)
                     for name in names]

  def call(*inputs):
    outputs = loaded.signatures[signature](**dict(zip(names, inputs)))
    return {ONNX_RENAMED_OUTPUTS[key] if key in ONNX_RENAMED_OUTPUTS and key in specs else key:
            value for key, value in outputs.items()}
  return tf.function(call, input_signature=input_signature)


@contextlib.contextmanager
def linear_if_wiring():
  """Within the block, tf2onnx wires an `If` branch into its parent graph in time linear in
  the branch's size.

  tf2onnx (1.17) renames each node of a branch under the `If`'s scope
  (`onnx_opset.controlflow.prefix_graph`) and, for every renamed output, re-registers every
  node of the branch as a consumer of it: quadratic in the branch's nodes. The frame
  signatures' localiser branch holds about 2,100 nodes. `_prefix_graph` renames the same way
  and rewires each output's actual consumers only; the ONNX graph is the same
  (tests/export/test_portable.py) and converts about twice as fast (docs/serving.md,
  `bench/onnx_conversion.py`).
  """
  from tf2onnx.onnx_opset import controlflow  # pylint: disable=import-outside-toplevel
  original = controlflow.prefix_graph
  controlflow.prefix_graph = _prefix_graph
  try:
    yield
  finally:
    controlflow.prefix_graph = original


def _prefix_graph(graph, scope):
  """tf2onnx's `prefix_graph(graph, scope)`: every node but the graph inputs is replaced by a
  copy named under `scope`, and its consumers (and the graph outputs) read the copy's
  outputs."""
  nodes = graph.get_nodes()[:]
  consumers = {}
  for node in nodes:
    for name in node.input:
      consumers.setdefault(name, []).append(node)
  renamed = [node for node in nodes if not node.is_graph_input()]
  for node in renamed:
    copy = graph.make_node(node.type, node.input, name=node.name, output_count=len(node.output),
                           shapes=node.output_shapes, dtypes=node.output_dtypes, attr=node.attr,
                           op_name_scope=scope, skip_conversion=True,
                           branches=dict(node.get_body_graphs() or {}))
    for old, new in zip(node.output, copy.output):
      graph.outputs[:] = [new if name == old else name for name in graph.outputs]
      # With `ops` given, tf2onnx also rewires the sub-graphs that read `old`.
      graph.replace_all_inputs(old, new, ops=consumers.get(old, []))
  for node in renamed:
    graph.remove_node(node.name)


def segment_handlers():
  """tf2onnx handlers that convert `UnsortedSegmentSum` and `UnsortedSegmentMin` to one ONNX
  `ScatterElements` (reduction "add" / "min", opset 18) on a filled output: O(N) memory.

  Empty segments hold 0 (sum) and the dtype's largest value (min), as in TF.
  """
  # tf2onnx's (handler, [ONNX op, handler's arguments...]) form.
  return {"UnsortedSegmentSum": (_scatter_segments, ["ScatterElements", "add"]),
          "UnsortedSegmentMin": (_scatter_segments, ["ScatterElements", "min"])}


def _scatter_segments(ctx, node, name, args):  # pylint: disable=unused-argument
  """Replaces `node` (data `[N, ...]`, ids `[N]`, count) by ScatterElements(filled
  `[count, ...]`, ids expanded to data's shape, data) along axis 0."""
  from onnx import TensorProto  # pylint: disable=import-outside-toplevel
  from onnx import helper  # pylint: disable=import-outside-toplevel
  from tf2onnx import utils  # pylint: disable=import-outside-toplevel
  (reduction,) = args
  data, ids, count = node.input
  dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(data))
  rank = len(ctx.get_shape(data))

  def const(values):
    return ctx.make_const(utils.make_name("segment"), np.array(values, np.int64)).output[0]

  def op(kind, inputs, **attributes):
    return ctx.make_node(kind, inputs, attr=attributes).output[0]

  data_shape = op("Shape", [data])
  rows = op("Reshape", [op("Cast", [count], to=TensorProto.INT64), const([1])])
  shape = op("Concat", [rows, op("Slice", [data_shape, const([1]), const([rank])])], axis=0)
  fill = 0 if reduction == "add" else np.finfo(dtype).max
  value = helper.make_tensor("fill", utils.map_numpy_to_onnx_dtype(dtype), [1], [fill])
  initial = op("ConstantOfShape", [shape], value=value)
  indices = op("Expand", [op("Reshape", [op("Cast", [ids], to=TensorProto.INT64),
                                         const([-1] + [1] * (rank - 1))]), data_shape])
  outputs, shapes, dtypes = node.output, [ctx.get_shape(node.output[0])], [ctx.get_dtype(data)]
  ctx.remove_node(node.name)
  ctx.make_node("ScatterElements", [initial, indices, data], outputs=outputs, shapes=shapes,
                dtypes=dtypes, attr={"axis": 0, "reduction": reduction}, name=node.name)


def convert(saved_model, formats=FORMATS, signatures=None):
  """Converts the SavedModel's signatures to each of `formats`, beside it.

  Args:
    saved_model: An export's version folder (`export.export_model`'s return value).
    formats: A subset of `FORMATS`.
    signatures: Signature names; default every signature of the export.

  Returns:
    A dict format → {signature → path}.
  """
  check_formats(formats)
  signatures = list(signatures or export.SIGNATURES)
  converters = {"litert": convert_litert, "onnx": convert_onnx}
  written = {}
  for name in formats:
    folder = os.path.join(saved_model, name)
    os.makedirs(folder, exist_ok=True)
    written[name] = {
        signature: converters[name](saved_model, signature,
                                    os.path.join(folder, signature + SUFFIX[name]))
        for signature in signatures}
  return written


class Runner:
  """One signature's LiteRT or ONNX file, called like the SavedModel's signature.

  `Runner(path)(depth=..., depth_unit_mm=..., ...)` takes numpy arrays by input name and
  returns a dict of numpy outputs by `serving.OUTPUT_KEYS`. LiteRT runs with XNNPACK (its
  default CPU delegate), ONNX Runtime with its CPU provider; `num_threads` threads each.
  """

  def __init__(self, path, num_threads=None):
    self.path = path
    self.format = {".tflite": "litert", ".onnx": "onnx"}.get(os.path.splitext(path)[1])
    if self.format is None:
      raise ValueError(f"{path}: expected a .tflite or .onnx file")
    if not os.path.isfile(path):
      raise FileNotFoundError(f"{path}: no such model file")
    threads = num_threads or os.cpu_count()
    self._call = (self._litert(path, threads) if self.format == "litert"
                  else self._onnx(path, threads))

  def __call__(self, **inputs):
    return self._call({key: np.asarray(value) for key, value in inputs.items()})

  @staticmethod
  def _litert(path, threads):
    try:
      from ai_edge_litert import interpreter as litert  # pylint: disable=import-outside-toplevel
    except ImportError:
      raise _missing("ai-edge-litert", "litert") from None
    interpreter = litert.Interpreter(model_path=path, num_threads=threads)
    (name,) = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(name)
    dtypes = {key: detail["dtype"] for key, detail in runner.get_input_details().items()}
    return lambda inputs: runner(**{key: value.astype(dtypes[key], copy=False)
                                    for key, value in inputs.items()})

  @staticmethod
  def _onnx(path, threads):
    try:
      import onnxruntime  # pylint: disable=import-outside-toplevel
    except ImportError:
      raise _missing("onnxruntime", "onnx") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    dtypes = {node.name: _ONNX_DTYPES[node.type] for node in session.get_inputs()}
    names = [node.name for node in session.get_outputs()]
    original = {renamed: key for key, renamed in ONNX_RENAMED_OUTPUTS.items()}

    def call(inputs):
      values = session.run(names, {key: value.astype(dtypes[key], copy=False)
                                   for key, value in inputs.items()})
      return {original.get(name, name): value for name, value in zip(names, values)}
    return call


_ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(uint16)": np.uint16,
                "tensor(int32)": np.int32}
