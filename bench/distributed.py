"""Benchmark: training steps/s with 1 and 2 local workers at the same global batch.

Each configuration starts its workers as processes of this script on localhost ports, with a
`TF_CONFIG` each, under `MultiWorkerMirroredStrategy` (`handvol.training.distributed.train`, the
custom loop `train.py --strategy=multi_worker` runs). The model is the default config's
(ResNet-18 layout at width 16, the full generative loss with N_i,max = 640) on synthetic
frames; with W workers each replica gets a batch of global/W. Steps/s is the chief's, over the
steps after the first (which traces the step). Workers on one machine share its cores, so this
measures the cost of the collectives and of running the pipelines side by side, not the
speed-up of W machines (docs/distributed.md). The last line is one JSON object.

  python bench/distributed.py [--global_batch 16] [--steps 20] [--workers 1,2] [--repeats 1]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import tensorflow as tf

from handvol import configs
from handvol.training import distributed
import machine_info  # bench/machine_info.py, beside this script

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker_main(settings, workdir):
  """One worker: trains the default config with `settings` and prints its result as JSON."""
  config = configs.override(configs.load("default"), settings)
  result = distributed.train(config, workdir, tf.distribute.MultiWorkerMirroredStrategy())
  print("RESULT " + json.dumps({key: value for key, value in result.items()
                                if key != "model"}), flush=True)



def run_workers(num_workers, global_batch, steps, frames, directory):
  """Trains with `num_workers` local workers; returns the chief's result dict."""
  if global_batch % num_workers:
    raise ValueError(f"global batch {global_batch} does not split over {num_workers} workers")
  settings = [f"data.batch_size={global_batch // num_workers}",
              f"data.train.0.num_frames={frames}", "train.epochs=1",
              f"train.steps_per_epoch={steps}", "train.verbose=0"]
  cluster = distributed.local_cluster(num_workers)
  workdir = tempfile.mkdtemp(dir=directory)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
             PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get("PYTHONPATH", "")]))
  workers = []
  for index in range(num_workers):
    env["TF_CONFIG"] = json.dumps({"cluster": cluster,
                                   "task": {"type": "worker", "index": index}})
    workers.append(subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(settings), workdir],
        env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
  outputs = [worker.communicate()[0] for worker in workers]
  for worker, output in zip(workers, outputs):
    if worker.returncode:
      raise RuntimeError(f"a worker failed:\n{output[-3000:]}")
  results = [line for line in outputs[0].splitlines() if line.startswith("RESULT ")]
  return json.loads(results[-1][len("RESULT "):])


def main():
  if len(sys.argv) == 4 and sys.argv[1] == "--worker":
    worker_main(json.loads(sys.argv[2]), sys.argv[3])
    return
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--global_batch", type=int, default=16)
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--workers", default="1,2", help="Comma-separated worker counts.")
  parser.add_argument("--frames", type=int, default=64, help="Synthetic training frames.")
  parser.add_argument("--repeats", type=int, default=1,
                      help="Rounds; the worker counts alternate within each, medians reported.")
  args = parser.parse_args()
  counts = [int(n) for n in args.workers.split(",")]
  rates = {n: [] for n in counts}
  with tempfile.TemporaryDirectory() as directory:
    for _ in range(args.repeats):
      for n in counts:
        result = run_workers(n, args.global_batch, args.steps, args.frames, directory)
        rates[n].append(result["steps_per_second"])
        print(f"{n} worker(s): {result['replicas']} replicas, batch "
              f"{result['per_replica_batch']} per replica, {result['global_batch']} in total: "
              f"{result['steps_per_second']:.3f} steps/s", flush=True)
  medians = {n: sorted(r)[len(r) // 2] for n, r in rates.items()}
  summary = {
      "global_batch": args.global_batch,
      "steps": args.steps,
      "steps_per_second": {str(n): round(rate, 4) for n, rate in medians.items()},
      "examples_per_second": {str(n): round(rate * args.global_batch, 2)
                              for n, rate in medians.items()},
      "cpus": os.cpu_count(),
      "load_average": [round(load, 2) for load in os.getloadavg()],
      "machine": platform.machine(),
      "date": time.strftime("%Y-%m-%d", time.gmtime()),
  }
  if 1 in medians and len(medians) > 1:
    summary["speedup_vs_1"] = {str(n): round(rate / medians[1], 3)
                               for n, rate in medians.items() if n != 1}
  summary["machine"] = machine_info.describe()
  print(machine_info.line())
  print(json.dumps(summary))


if __name__ == "__main__":
  main()
