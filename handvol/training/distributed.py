"""Training past one machine: a custom loop under `tf.distribute.MultiWorkerMirroredStrategy`.

Which path runs when (`train.strategy`, or `train.py --strategy=...`):
- "default" and "mirrored" (one host, one or several GPUs or logical CPUs): `trainer.fit` runs
  Keras' `model.fit`, with its callbacks (BackupAndRestore, TensorBoard, images).
- "multi_worker" (several hosts, `TF_CONFIG` on each): `train` here. Keras 3.15's
  `model.fit` fails under `MultiWorkerMirroredStrategy`, even for one Dense layer
  (keras-team/keras#20585: `PerReplica` values reach `_maybe_symbolic_build`, then
  `strategy.reduce`), so this loop drives the SAME model, losses (`HandPoseModel.compute_loss`),
  optimizer and schedule (`trainer.compile_model`) and input pipeline with public
  `tf.distribute` APIs instead.

The loop, on every worker:
- input: `strategy.distribute_datasets_from_function`; each worker builds its own pipeline on
  its share of the frames (TFRecord shards split by file, in-memory and generated frames by
  element, `handvol.training.input_pipeline`), batched at the per-replica batch size;
- loss: each replica's batch-mean energy divided by the number of replicas in sync (what
  `compute_loss` returns), so the all-reduced SUM of the gradients is the gradient of the mean
  over the global batch;
- batch norm: per-replica statistics unless synchronised (`handvol.model.batch_norm`); the moving
  statistics are averaged over replicas before every checkpoint, so all workers save and end
  with the same weights;
- checkpoints: every worker takes part in `CheckpointManager.save` (saving may run collectives),
  but only the chief writes to `workdir/checkpoints_multi_worker`; the others write to a
  temporary folder they delete at once (TensorFlow's multi-worker guide);
- resume: every worker restores the chief's latest checkpoint (the work directory must be
  shared, e.g. NFS or GCS), so after a worker is lost, restarting all workers with the same
  command continues from the last saved step. The input pipelines restart from their seeds.

Work directory (written by the chief): `config.json`, `checkpoints_multi_worker/`
(`tf.train.Checkpoint` of the model and the optimizer, one per epoch), and what
`handvol.training.train.train_and_evaluate` writes for every strategy (`summary.json`, the
evaluation report).
"""

import contextlib
import math
import os
import socket
import time

import keras
import tensorflow as tf

from handvol.data import atomic
from handvol.data import records
from handvol.data import tfrecords
from handvol.image import preprocess
from handvol.model import batch_norm
from handvol.training import faults
from handvol.training import input_pipeline
from handvol.training import trainer

CHECKPOINT_DIR = "checkpoints_multi_worker"
"""Folder of the chief's checkpoints inside the work directory."""

MAX_CHECKPOINTS = 3
"""Checkpoints kept by the chief."""

PEER_LINGER_S = 3.0
"""How long a worker that stops on an error which every worker meets at the same step (a
non-finite step, a source over its bad-frame budget) waits before it raises it. A collective's
buffers are pulled from the sender's server: a worker that exits the moment its own step
returns can leave a peer still pulling the last step's buffers, which then reports a lost
worker instead of the error itself (seen once in a CI run of
`tests/reliability/test_multi_worker.py` on 2 busy cores)."""
WORKER_SEED_STRIDE = 1000
"""Worker i's pipeline is seeded with seed + i·stride, so that workers do not draw the same
augmentation for their batches (worker 0 keeps the single-machine seed)."""


def is_chief(strategy):
  """Whether this task writes checkpoints and summaries.

  The chief is the "chief" task or, in a cluster without one, worker 0; a strategy without a
  cluster (one machine) is its own chief.
  """
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return True
  if resolver.task_type == "chief":
    return True
  return (resolver.task_type == "worker" and resolver.task_id == 0
          and "chief" not in resolver.cluster_spec().as_dict())


def write_dir(directory, strategy):
  """Where this task writes `directory`: itself on the chief, a per-task temporary folder
  beside it elsewhere (deleted by the caller after each write)."""
  if is_chief(strategy):
    return directory
  resolver = strategy.cluster_resolver
  return os.path.join(directory, f"tmp_{resolver.task_type}_{resolver.task_id}")


def nonfinite_batch_file(strategy):
  """The file (in the work directory) that lists the frames of this task's batch at a
  non-finite step: `nonfinite_batch.txt`, `nonfinite_batch_<task>_<id>.txt` in a cluster."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return "nonfinite_batch.txt"
  return f"nonfinite_batch_{resolver.task_type}_{resolver.task_id}.txt"


def moving_statistics_averager(model, strategy):
  """A function that sets every batch-norm moving mean and variance to its replica average.

  Keras 3 updates these non-trainable variables in each replica from that replica's own batch,
  so with per-replica statistics they drift apart between workers. Their mean over replicas is
  the moving average of the replica-averaged batch statistics (the update is linear), which is
  what Keras 2 returned when such a variable was read. A no-op in effect with synchronised
  statistics; one all-reduce per call.
  """
  variables = [variable for layer in batch_norm.batch_norm_layers(model)
               for variable in (layer.moving_mean, layer.moving_variance)]

  def replica_average():
    context = tf.distribute.get_replica_context()
    averages = context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                  [tf.identity(variable.value) for variable in variables])
    for variable, average in zip(variables, averages):
      variable.assign(average)

  @tf.function
  def average():
    strategy.run(replica_average)

  return average


def worker_source(entry, worker_index, num_workers, max_fraction=None, name="source",
                  skip_logs=None, namers=None):
  """`input_pipeline.frame_source(entry)` restricted to one worker's share of the frames.

  TFRecord sources are split by shard (each worker reads whole files); other sources by
  element, as `input_pipeline.from_records` does. Reader sources skip bad frames within the
  `max_fraction` budget, into a `records.SkipLog` that `skip_logs` (a dict) receives as `name`.
  `namers`, a list, receives the source's namer of this worker's frames
  (`input_pipeline.TrainingFrames`).
  """
  namers = namers if namers is not None else []
  if entry["source"] == "tfrecords":
    shards = sorted(tfrecords.list_shards(entry["dir"], entry["name"]))
    namers.append(input_pipeline.frame_namer(
        dict(entry, shards=shards[worker_index::num_workers]), name))
    return input_pipeline.from_tfrecords(shards, worker_index, num_workers)
  log = records.SkipLog()
  if skip_logs is not None:
    skip_logs[name] = log
  names = []
  source = input_pipeline.frame_source(entry, log, max_fraction, name, names)
  namer = input_pipeline.frame_namer(entry, name, names)
  # Position k of this worker's share is frame k·n + i of the source (`Dataset.shard`).
  namers.append(lambda k: namer(k * num_workers + worker_index))
  return source.shard(num_workers, worker_index) if num_workers > 1 else source


def worker_training_dataset(config, input_context, skip_logs=None, frames=None):
  """This worker's endless training batches at the per-replica batch size.

  Args:
    config: A nested config dict; "data.batch_size" is the per-replica batch (as in
      `trainer.fit`).
    input_context: The `tf.distribute.InputContext` of this input pipeline.
    skip_logs: Optional dict that receives each reader source's `records.SkipLog`.
    frames: Optional list that receives the `input_pipeline.TrainingFrames` of the batches.

  Returns:
    A `tf.data.Dataset` of batched training examples.
  """
  data_config = config["data"]
  global_batch = data_config["batch_size"] * input_context.num_replicas_in_sync
  per_replica = input_context.get_per_replica_batch_size(global_batch)
  worker = input_context.input_pipeline_id
  pipeline_config = input_pipeline.pipeline_config(data_config, per_replica,
                                         seed=config["seed"] + WORKER_SEED_STRIDE * worker)
  budget = input_pipeline.max_skipped_fraction(data_config)
  namers = []
  sources = [worker_source(entry, worker, input_context.num_input_pipelines, budget,
                           f"data.train.{index}", skip_logs, namers)
             for index, entry in enumerate(data_config["train"])]
  recorded = input_pipeline.TrainingFrames(namers)
  if frames is not None:
    frames.append(recorded)
  return input_pipeline.training_dataset(
      sources, [entry["ratio"] for entry in data_config["train"]], pipeline_config, recorded,
      **input_pipeline.source_options(data_config["train"]))


def local_cluster(num_workers):
  """A `TF_CONFIG` cluster of `num_workers` workers on free localhost ports (tests, benchmarks).

  Returns:
    A dict {"worker": ["localhost:PORT", ...]}; each worker's `TF_CONFIG` is
    {"cluster": this, "task": {"type": "worker", "index": i}}.
  """
  sockets = [socket.socket() for _ in range(num_workers)]
  for s in sockets:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return {"worker": [f"localhost:{port}" for port in ports]}


def example_inputs():
  """A one-frame input (a blank crop 500 mm in front of the camera) whose call builds every
  variable of a `HandPoseModel`, as the optimizer and the strategy need before training."""
  size = preprocess.CROP_SIZE
  return {"depth_input": tf.zeros([1, size, size, 1]),
          "center_xyz": tf.constant([[0.0, 0.0, 500.0]])}


def _num_workers(strategy):
  """The cluster's chief and worker tasks (1 without a cluster)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
  return max(sum(len(tasks) for job, tasks in cluster.items() if job in ("chief", "worker")),
             1)


def _batch_sizes(strategy, config):
  replicas = strategy.num_replicas_in_sync
  return {"workers": _num_workers(strategy), "replicas": replicas,
          "per_replica_batch": config["data"]["batch_size"],
          "global_batch": config["data"]["batch_size"] * replicas}


def train(config, workdir, strategy, synchronized_batch_norm=False):
  """Trains `config`'s model under `strategy` with the custom loop, resuming if possible.

  Args:
    config: A nested config dict (`handvol/configs/`).
    workdir: The (shared) work directory.
    strategy: A `tf.distribute.Strategy` (MultiWorkerMirrored, Mirrored or the default).
    synchronized_batch_norm: Batch-norm statistics over all replicas
      (`handvol.model.batch_norm.synchronize`) instead of each replica's own.

  Returns:
    A dict: "model" (the trained `HandPoseModel`), "initial_step" (the step it resumed from,
    0 for a fresh start), "steps" (the total), "train_seconds" (checkpoints included),
    "steps_per_second" (over this run's steps after its first, which traces the step; None
    for fewer than two steps), and the batch sizes ("workers", "replicas",
    "per_replica_batch", "global_batch").

  Raises:
    RuntimeError: A peer worker was lost (the collectives failed); every worker has to be
      restarted, and resumes from the last checkpoint.
  """
  sizes = _batch_sizes(strategy, config)
  if is_chief(strategy):
    print(f"{sizes['workers']} worker(s), {sizes['replicas']} replica(s) in sync: batch "
          f"{sizes['per_replica_batch']} per replica, {sizes['global_batch']} in total",
          flush=True)
  keras.utils.set_random_seed(config["seed"])
  skip_logs, frames = {}, []
  dataset = strategy.distribute_datasets_from_function(
      lambda context: worker_training_dataset(config, context, skip_logs, frames))
  model = trainer.build_compiled_model(config, strategy, example_inputs(),
                                       synchronized_batch_norm)
  with strategy.scope():
    model.optimizer.build(model.trainable_variables)
  loop = _Loop(model, strategy, os.path.join(workdir, CHECKPOINT_DIR), skip_logs, frames,
               os.path.join(workdir, nonfinite_batch_file(strategy)))
  start = time.time()
  steady_seconds = loop.run(iter(dataset), config["train"])
  total_steps = config["train"]["epochs"] * config["train"]["steps_per_epoch"]
  steady_steps = total_steps - loop.initial_step - 1
  return dict(sizes, model=model, initial_step=loop.initial_step, steps=total_steps,
              train_seconds=time.time() - start,
              steps_per_second=steady_steps / steady_seconds if steady_steps > 0 else None)


class _Loop:
  """The custom loop's state: the step function, the checkpoints, the step it resumed from."""

  def __init__(self, model, strategy, checkpoint_dir, skip_logs, frames=(), frames_path=None):
    self.strategy = strategy
    self.frames = frames  # The TrainingFrames of this worker's pipeline(s), once iterated.
    self.frames_path = frames_path
    self.model = model
    self.optimizer = model.optimizer
    self.steps_per_epoch = 1
    self.skip_logs = skip_logs
    self.chief = is_chief(strategy)
    self.workers = _num_workers(strategy)
    self.checkpoint_dir = checkpoint_dir
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    self.manager = tf.train.CheckpointManager(checkpoint, write_dir(checkpoint_dir, strategy),
                                              max_to_keep=MAX_CHECKPOINTS)
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if latest:
      checkpoint.restore(latest).assert_existing_objects_matched()
    self.initial_step = int(model.optimizer.iterations.numpy())
    if self.chief and latest:
      print(f"resumed from {latest} at step {self.initial_step}", flush=True)
    self.train_step = _train_step(model, strategy)
    self.average_moving_statistics = moving_statistics_averager(model, strategy)

  def save(self, step):
    with self._peer_loss_explained(step):  # Also a collective: the peer can be lost here.
      self.average_moving_statistics()
    faults.check_finite_weights(self.model, f"{self.checkpoint_dir} (step {step})")
    self.manager.save(checkpoint_number=step)
    if not self.chief:
      tf.io.gfile.rmtree(self.manager.directory)

  @contextlib.contextmanager
  def _peer_loss_explained(self, step):
    """Turns a collective's lost-peer error into a RuntimeError that says what to do.

    TensorFlow aborts every later collective with the first one's error code ("Collective ops
    is aborted by: ..."), so whichever collective meets the loss (the step's or the
    moving-statistics average before a checkpoint) raises one of these two."""
    try:
      yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as error:
      raise RuntimeError(
          f"a worker was lost at step {step}; restart every worker with the same command to "
          f"resume from the last checkpoint in {self.checkpoint_dir}") from error

  @contextlib.contextmanager
  def _peers_let_finish(self):
    """Re-raises a non-finite step or a source over its budget after `PEER_LINGER_S` when
    there are peers, so that they can finish pulling this step's buffers and stop with the
    same error; a lost peer (a `RuntimeError` that is no `faults.RunError`) at once."""
    try:
      yield
    except (faults.NonFiniteError, faults.BadFramesError):
      if self.workers > 1:
        time.sleep(PEER_LINGER_S)
      raise

  def step(self, iterator, step):
    """One step (its summed loss); a lost peer becomes a RuntimeError that says what to do."""
    with self._peer_loss_explained(step):
      loss = float(self.train_step(iterator))
    optimizer_steps = int(self.optimizer.nonfinite_steps.numpy())
    if not math.isfinite(loss) or optimizer_steps > 0:
      # This process's pipeline made one batch per step since it started.
      names = [name for frames in self.frames
               for name in frames.names(step - self.initial_step)]
      path = None
      if names and self.frames_path:
        atomic.write_text(self.frames_path, "".join(f"{name}\n" for name in names))
        path = self.frames_path
      raise faults.NonFiniteError(faults.nonfinite_message(
          step + 1, step // self.steps_per_epoch, step % self.steps_per_epoch,
          [] if math.isfinite(loss) else ["loss"], optimizer_steps > 0, names, path))
    return loss

  def run(self, iterator, train_config):
    """Runs the steps from `initial_step` on, a checkpoint after every epoch; returns the
    seconds of the steps after this run's first (which also traces and fills buffers)."""
    steps_per_epoch = self.steps_per_epoch = train_config["steps_per_epoch"]
    total_steps = train_config["epochs"] * steps_per_epoch
    verbose = train_config["verbose"] if self.chief else 0
    steady_seconds = 0.0
    step = self.initial_step
    while step < total_steps:
      epoch = step // steps_per_epoch
      epoch_end = min((epoch + 1) * steps_per_epoch, total_steps)
      if verbose:
        print(f"Epoch {epoch + 1}/{train_config['epochs']}", flush=True)
      progress = keras.utils.Progbar(epoch_end - epoch * steps_per_epoch, verbose=verbose)
      progress.update(step - epoch * steps_per_epoch)
      while step < epoch_end:
        step_start = time.time()
        with self._peers_let_finish():
          loss = self.step(iterator, step)
          trainer.raise_pipeline_error(self.skip_logs)  # A source over its bad-frame budget.
        if step > self.initial_step:
          steady_seconds += time.time() - step_start
        step += 1
        progress.update(step - epoch * steps_per_epoch, [("loss", loss)])
      self.save(step)
    return steady_seconds


def _train_step(model, strategy):
  """A `tf.function` of an iterator: one step on every replica, the losses summed."""

  def replica_step(batch):
    with tf.GradientTape() as tape:
      outputs = model(batch, training=True)
      loss = model.compute_loss(x=batch, y_pred=outputs)
    gradients = tape.gradient(loss, model.trainable_variables)
    model.optimizer.apply(gradients, model.trainable_variables)
    return loss

  @tf.function
  def train_step(iterator):
    losses = strategy.run(replica_step, args=(next(iterator),))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

  return train_step
