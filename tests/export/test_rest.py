"""The REST examples of docs/serving.md, decoded as TF Serving decodes them, give the documented
response; malformed requests are rejected with a reason."""

import json
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf

from handvol.export import rest
from handvol.export import serving

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "serving.md"
DOC_TOLERANCE = 1.5e-3
"""The documented numbers are rounded to 3 decimals."""


def _doc_examples():
  text = DOC.read_text(encoding="utf-8")
  return {name: json.loads(body) for name, body in
          re.findall(r"<!-- rest:([\w-]+) -->\s*```json\n(.*?)```", text, flags=re.S)}


@pytest.fixture(scope="module")
def untrained(untrained_export):
  return tf.saved_model.load(untrained_export)


def test_documented_requests_give_the_documented_response(untrained):
  examples = _doc_examples()
  assert set(examples) == {"request-row", "request-columnar", "response-row"}
  documented = examples["response-row"]["predictions"]
  row = rest.run_request(untrained, examples["request-row"])
  columnar = rest.run_request(untrained, examples["request-columnar"])
  assert len(row["predictions"]) == len(documented) == 1
  for key in serving.OUTPUT_KEYS:
    np.testing.assert_allclose(row["predictions"][0][key], documented[0][key],
                               atol=DOC_TOLERANCE, err_msg=key)
    # Columnar: the same tensors with their batch dimension.
    np.testing.assert_array_equal(columnar["outputs"][key], [row["predictions"][0][key]])
  assert set(row["predictions"][0]) == set(serving.OUTPUT_KEYS)
  json.dumps(row)  # The reply is plain JSON.


def test_row_form_stacks_instances(untrained):
  request = _doc_examples()["request-row"]
  first = request["instances"][0]
  second = dict(first, depth=np.zeros([8, 8]).tolist())
  name, inputs, row_form = rest.decode_request(
      dict(request, instances=[first, second]), untrained.signatures)
  assert name == "serving_default" and row_form
  assert inputs["depth"].shape == (2, 8, 8) and inputs["depth"].dtype == np.float32
  assert inputs["intrinsics"].shape == (2, 4)
  reply = rest.run_request(untrained, dict(request, instances=[first, second]))
  assert [p["valid"] for p in reply["predictions"]] == [1, 0]


@pytest.mark.parametrize("edit, reason", [
    (lambda r: {"instances": r["instances"], "inputs": {}}, "exactly one of"),
    (lambda r: dict(r, signature_name="nope"), "no signature 'nope'"),
    (lambda r: dict(r, instances=[]), "non-empty list"),
    (lambda r: dict(r, instances=[{"depth": r["instances"][0]["depth"]}]), "with the inputs"),
    (lambda r: dict(r, instances=[dict(r["instances"][0], depth=[[1, 2], [3]])]),
     "not a rectangular array"),
    (lambda r: dict(r, instances=[dict(r["instances"][0], intrinsics=[1.0, 2.0])]),
     "does not match"),
    (lambda r: dict(r, instances=[dict(r["instances"][0], depth="abc")]), "expected numbers"),
])
def test_malformed_requests_are_rejected(untrained, edit, reason):
  request = edit(_doc_examples()["request-row"])
  with pytest.raises(rest.RequestError, match=re.escape(reason)):
    rest.run_request(untrained, request)


def test_uint16_takes_integers_only(untrained):
  request = _doc_examples()["request-row"]
  request = dict(request, signature_name="serving_uint16")
  reply = rest.run_request(untrained, request)
  assert reply["predictions"][0]["valid"] == 1
  floats = dict(request, instances=[dict(request["instances"][0],
                                         depth=(np.ones([8, 8]) * 0.5).tolist())])
  with pytest.raises(rest.RequestError, match="expected integers"):
    rest.run_request(untrained, floats)
  too_big = dict(request, instances=[dict(request["instances"][0],
                                          depth=np.full([8, 8], 70000).tolist())])
  with pytest.raises(rest.RequestError, match="outside the range"):
    rest.run_request(untrained, too_big)
