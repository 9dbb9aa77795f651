"""TF Serving's REST JSON, emulated: decode a predict request, run a signature, encode the reply.

TF Serving's `POST /v1/models/NAME[/versions/N]:predict` takes one of two forms
(tensorflow.org/tfx/serving/api_rest):

- row form, `{"signature_name": S, "instances": [row, ...]}`: with several named inputs each row
  is an object input name → value for one example, and the server stacks the rows into a batch
  (so every input has the batch dimension); the reply is `{"predictions": [row, ...]}`, one
  object output name → value per example;
- columnar form, `{"signature_name": S, "inputs": {name: value, ...}}`: each value is the whole
  tensor, batch dimension included; the reply is `{"outputs": {name: value, ...}}`.

JSON numbers become the input's dtype: any number for a float input, integers only (in range)
for an integer input. `signature_name` defaults to "serving_default". These functions follow
those rules so that tests and `python -m handvol.export.rest` see what a server would answer:

  python -m handvol.export.rest --saved_model exports/handvol/1 --request request.json
"""

import json

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

DEFAULT_SIGNATURE = "serving_default"


class RequestError(ValueError):
  """A request that TF Serving would reject (HTTP 400); the message says why."""


def _to_array(value, spec, where):
  """A JSON value → numpy array of `spec`'s dtype, checked against its shape."""
  dtype = spec.dtype.as_numpy_dtype
  try:
    array = np.asarray(value)
  except ValueError as error:  # Ragged nested lists.
    raise RequestError(f"{where}: not a rectangular array ({error})") from None
  if array.dtype == object or array.dtype.kind not in "iuf" or array.dtype == bool:
    raise RequestError(f"{where}: expected numbers for {spec.dtype.name}, got {array.dtype}")
  if np.issubdtype(dtype, np.integer):
    if array.dtype.kind == "f":
      raise RequestError(f"{where}: expected integers for {spec.dtype.name}, got floats")
    info = np.iinfo(dtype)
    if array.size and (array.min() < info.min or array.max() > info.max):
      raise RequestError(f"{where}: values outside the range of {spec.dtype.name}")
  array = array.astype(dtype)
  if not spec.shape.is_compatible_with(array.shape):
    raise RequestError(f"{where}: shape {list(array.shape)} does not match the signature's "
                       f"{spec.shape}")
  return array


def decode_request(body, signatures):
  """A predict request body → (signature name, inputs, row form?).

  Args:
    body: The request as a JSON string or the parsed dict.
    signatures: The loaded SavedModel's `signatures` mapping.

  Returns:
    A tuple: the signature name, a dict input name → numpy array (batched), and True for the
    row form ("instances"), False for the columnar form ("inputs").

  Raises:
    RequestError: what TF Serving answers with an error.
  """
  if isinstance(body, (str, bytes)):
    body = json.loads(body)
  if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
    raise RequestError('the request must be an object with exactly one of "instances" or '
                       '"inputs"')
  name = body.get("signature_name", DEFAULT_SIGNATURE)
  if name not in signatures:
    raise RequestError(f"no signature {name!r}; the model has {sorted(signatures)}")
  specs = signatures[name].structured_input_signature[1]
  row_form = "instances" in body
  if row_form:
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
      raise RequestError('"instances" must be a non-empty list of examples')
    for index, row in enumerate(rows):
      if not isinstance(row, dict) or set(row) != set(specs):
        raise RequestError(f"instances[{index}] must be an object with the inputs "
                           f"{sorted(specs)}")
    columns = {key: [row[key] for row in rows] for key in specs}
  else:
    columns = body["inputs"]
    if not isinstance(columns, dict) or set(columns) != set(specs):
      raise RequestError(f'"inputs" must be an object with the inputs {sorted(specs)}')
  inputs = {key: _to_array(columns[key], spec, key) for key, spec in specs.items()}
  return name, inputs, row_form


def encode_response(outputs, row_form):
  """Signature outputs → the reply body (a JSON-able dict) of the request's form."""
  outputs = {key: np.asarray(value) for key, value in outputs.items()}
  if not row_form:
    return {"outputs": {key: value.tolist() for key, value in outputs.items()}}
  batch = {len(value) for value in outputs.values()}
  if len(batch) != 1:
    raise RequestError("row form needs outputs with one batch size; use the columnar form")
  return {"predictions": [{key: value[row].tolist() for key, value in outputs.items()}
                          for row in range(batch.pop())]}


def run_request(saved_model, body):
  """Runs a predict request through a loaded SavedModel, as TF Serving would.

  Args:
    saved_model: The object `tf.saved_model.load` returned.
    body: The request (JSON string or dict).

  Returns:
    The reply body as a dict.
  """
  name, inputs, row_form = decode_request(body, saved_model.signatures)
  outputs = saved_model.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
  return encode_response({key: value.numpy() for key, value in outputs.items()}, row_form)


def main(argv):
  del argv
  with open(_REQUEST.value, encoding="utf-8") as f:
    body = json.load(f)
  print(json.dumps(run_request(tf.saved_model.load(_SAVED_MODEL.value), body)))


if __name__ == "__main__":
  _SAVED_MODEL = flags.DEFINE_string("saved_model", None, "EXPORT_DIR/<model_name>/<version>.")
  _REQUEST = flags.DEFINE_string("request", None, "A JSON file with the request body.")
  flags.mark_flags_as_required(["saved_model", "request"])
  app.run(main)
