"""Batch normalisation across replicas: the one switch the distribution paths share."""

import keras


def batch_norm_layers(model):
  """Every `keras.layers.BatchNormalization` nested anywhere in `model`."""
  # Keras 3 has no public recursive walk over nested layers (`Model.layers` is one level).
  nested = model._flatten_layers(include_self=False, recursive=True)
  return [layer for layer in nested if isinstance(layer, keras.layers.BatchNormalization)]


def synchronize(model):
  """Makes every `BatchNormalization` of a built `model` use statistics over all replicas.

  Per-replica statistics (Keras' default) make an R-replica step differ from a one-device step
  on the same global batch; synchronised statistics make them equal, at the cost of three small
  all-reduces per layer per step. Call after the model is built (some layers are made in
  `build`) and before the first traced step.

  Returns:
    The number of layers changed.
  """
  layers = batch_norm_layers(model)
  for layer in layers:
    layer.synchronized = True
  return len(layers)
