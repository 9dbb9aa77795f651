"""Benchmark: converting the shipped model's `serving_default` to ONNX, with tf2onnx's own
wiring of `If` branches and with `portable.linear_if_wiring`.

One process exports the shipped pretrained model (`handvol.pretrained`) and converts its frame
signature twice (`portable.convert_onnx`), in the order given by `--order`: once with tf2onnx's
`prefix_graph` (quadratic in the localiser branch's nodes) and once with handvol's linear one.
Both files then run in ONNX Runtime on the same 8 scene frames (RealSense D435, seed `--seed`,
no reference points: the localiser's branch); their outputs must be equal.

The last line is one JSON object: `tf2onnx_wiring_s`, `linear_wiring_s`, `speedup`
(tf2onnx / linear) and `max_output_difference` (largest difference of any output between the
two files).

  python bench/onnx_conversion.py [--seed 1000]
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
import machine_info  # bench/machine_info.py, beside this script
import runtimes  # bench/runtimes.py

FRAMES = 8


def _parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seed", type=int, default=1000)
  parser.add_argument("--order", choices=["linear_first", "tf2onnx_first"],
                      default="linear_first")
  return parser.parse_args()


def main():
  args = _parse_args()
  print(machine_info.line(), flush=True)
  # pylint: disable=import-outside-toplevel
  from handvol import pretrained
  from handvol.export import export
  from handvol.export import portable
  work = tempfile.mkdtemp(prefix="onnx_conversion_")
  path = export.export_model(pretrained.load_pretrained(), work, "handvol", 1)
  order = ["linear", "tf2onnx"] if args.order == "linear_first" else ["tf2onnx", "linear"]
  seconds, files = {}, {}
  for wiring in order:
    target = os.path.join(work, f"serving_default_{wiring}.onnx")
    start = time.perf_counter()
    portable.convert_onnx(path, export.SIGNATURE_FRAME, target, linear_if=wiring == "linear")
    seconds[wiring] = time.perf_counter() - start
    files[wiring] = target
    print(f"{wiring} wiring: {seconds[wiring]:.1f} s", flush=True)
  inputs = runtimes.frame_inputs(args.seed, FRAMES)
  outputs = {wiring: portable.Runner(file, num_threads=os.cpu_count())(**inputs)
             for wiring, file in files.items()}
  difference = max(float(np.max(np.abs(outputs["linear"][key].astype(np.float64)
                                       - outputs["tf2onnx"][key].astype(np.float64))))
                   for key in outputs["linear"])
  result = {"machine": machine_info.describe(), "frames": FRAMES, "seed": args.seed,
            "order": args.order, "tf2onnx_wiring_s": round(seconds["tf2onnx"], 1),
            "linear_wiring_s": round(seconds["linear"], 1),
            "speedup": round(seconds["tf2onnx"] / seconds["linear"], 2),
            "max_output_difference": difference}
  print(json.dumps(result))


if __name__ == "__main__":
  main()
