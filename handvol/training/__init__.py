"""Training: `train_and_evaluate(config, workdir)` runs a configuration end to end.

- `input_pipeline`: frame records → batches of training examples, the datasets a config names;
- `trainer`: the model and its optimizer from a config, and training with `model.fit`;
- `distributed`: the custom loop under `MultiWorkerMirroredStrategy`;
- `train`: `train_and_evaluate`, which runs either and keeps the run's books;
- `evaluate`: a model's predictions on held-out examples → `handvol.evaluation`'s metrics, and
  a training run's checkpoint evaluated (`eval.py --workdir`);
- `callbacks`: prediction images for TensorBoard.
"""

from handvol.training.train import train_and_evaluate
