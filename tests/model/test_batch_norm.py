from handvol.model import batch_norm
from handvol.model import encoder


def test_synchronize_reaches_every_nested_batch_norm():
  model = encoder.ResNetEncoder(num_outputs=46, width=4, blocks_per_stage=(2, 2, 2, 2))
  model.build((None, 128, 128, 1))
  layers = batch_norm.batch_norm_layers(model)
  # ResNet-18: the stem, two per basic block, and a projection in the first block of stages
  # 2-4 (stride 2, more channels).
  assert len(layers) == 1 + 2 * 8 + 3
  assert not any(layer.synchronized for layer in layers)
  assert batch_norm.synchronize(model) == len(layers)
  assert all(layer.synchronized for layer in layers)
