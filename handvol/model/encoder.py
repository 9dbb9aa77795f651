"""ResNet-18 encoder on one-channel depth crops (SPEC §9), written with Keras layers.

He et al., "Deep Residual Learning for Image Recognition" (2016): a 7×7/2 stem, 3×3/2 max
pooling, four stages of basic blocks (two 3×3 convolutions and a shortcut) with widths w, 2w,
4w, 8w, global average pooling and a dense head. ResNet-18 is w = 64 and [2, 2, 2, 2] blocks;
`keras.applications` has none, and no pretrained weights can be fetched, so it trains from
scratch.
"""

import keras

# Batch-norm moving averages must track the statistics within the few hundred steps of a CPU
# run; Keras' default 0.99 would still carry the initial (0, 1) statistics at evaluation.
BATCH_NORM_MOMENTUM = 0.9
# The dense head starts at zero, so an untrained model predicts `PoseHead`'s neutral output (a
# mid-range hand at the reference point) rather than a random pose far outside the crop. Its
# kernel still gets gradients at step 0 (they scale with the pooled features), and the trunk
# from step 1 on.
HEAD_INITIALIZER = "zeros"


class _BasicBlock(keras.layers.Layer):
  """Two 3×3 convolutions with batch norm, plus an identity or 1×1 projection shortcut."""

  def __init__(self, filters, stride, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.stride = stride
    conv = dict(use_bias=False, kernel_initializer="he_normal")
    self.conv1 = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", **conv)
    self.bn1 = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)
    self.conv2 = keras.layers.Conv2D(filters, 3, padding="same", **conv)
    # Zero-initialised last scale: each block starts as the identity (Goyal et al. 2017).
    self.bn2 = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM,
                                               gamma_initializer="zeros")
    self.projection = None
    self.projection_bn = None
    self._needs_projection = None

  def build(self, input_shape):
    self._needs_projection = self.stride != 1 or input_shape[-1] != self.filters
    self.conv1.build(input_shape)
    mid_shape = self.conv1.compute_output_shape(input_shape)
    self.bn1.build(mid_shape)
    self.conv2.build(mid_shape)
    self.bn2.build(mid_shape)
    if self._needs_projection:
      self.projection = keras.layers.Conv2D(self.filters, 1, strides=self.stride, use_bias=False,
                                            kernel_initializer="he_normal")
      self.projection_bn = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)
      self.projection.build(input_shape)
      self.projection_bn.build(mid_shape)

  def call(self, inputs, training=None):
    x = keras.ops.relu(self.bn1(self.conv1(inputs), training=training))
    x = self.bn2(self.conv2(x), training=training)
    shortcut = inputs
    if self._needs_projection:
      shortcut = self.projection_bn(self.projection(inputs), training=training)
    return keras.ops.relu(x + shortcut)

  def compute_output_shape(self, input_shape):
    return self.conv1.compute_output_shape(input_shape)[:-1] + (self.filters,)


@keras.saving.register_keras_serializable(package="handvol")
class ResNetEncoder(keras.layers.Layer):
  """A ResNet with basic blocks mapping a depth crop to a vector of pose outputs.

  Args:
    num_outputs: Size of the output vector (46 = θ 26 + β 20).
    width: Channels of the first stage; stages have width·(1, 2, 4, 8). 64 is ResNet-18; a
      smaller width gives a cheaper encoder of the same shape for CPU runs.
    blocks_per_stage: Basic blocks per stage; (2, 2, 2, 2) is ResNet-18.

  Call arguments:
    inputs: `[B, H, W, 1]` normalised depth (SPEC §7), e.g. H = W = 128.
    training: Whether batch norm uses batch statistics.

  Returns:
    `[B, num_outputs]` unconstrained outputs (`handvol.model.head.PoseHead` maps them).

  Example:
  >>> ResNetEncoder()(tf.zeros([2, 128, 128, 1])).shape  # (2, 46)
  """

  def __init__(self, num_outputs=46, width=64, blocks_per_stage=(2, 2, 2, 2), **kwargs):
    super().__init__(**kwargs)
    self.num_outputs = int(num_outputs)
    self.width = int(width)
    self.blocks_per_stage = tuple(int(n) for n in blocks_per_stage)
    self.stem = keras.layers.Conv2D(self.width, 7, strides=2, padding="same", use_bias=False,
                                    kernel_initializer="he_normal")
    self.stem_bn = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)
    self.pool = keras.layers.MaxPooling2D(3, strides=2, padding="same")
    self.blocks = []
    for stage, num_blocks in enumerate(self.blocks_per_stage):
      for block in range(num_blocks):
        stride = 2 if stage > 0 and block == 0 else 1
        self.blocks.append(_BasicBlock(self.width * 2**stage, stride,
                                       name=f"stage{stage + 1}_block{block + 1}"))
    self.global_pool = keras.layers.GlobalAveragePooling2D()
    self.head = keras.layers.Dense(
        self.num_outputs,
        kernel_initializer=HEAD_INITIALIZER,
        name="head")

  def build(self, input_shape):
    if len(input_shape) != 4:
      raise ValueError(f"inputs must have shape [B, H, W, C], got shape {input_shape}")
    self.stem.build(input_shape)
    shape = self.stem.compute_output_shape(input_shape)
    self.stem_bn.build(shape)
    shape = self.pool.compute_output_shape(shape)
    for block in self.blocks:
      block.build(shape)
      shape = block.compute_output_shape(shape)
    self.head.build((shape[0], shape[-1]))

  def call(self, inputs, training=None):
    x = keras.ops.relu(self.stem_bn(self.stem(inputs), training=training))
    x = self.pool(x)
    for block in self.blocks:
      x = block(x, training=training)
    return self.head(self.global_pool(x))

  def compute_output_shape(self, input_shape):
    return (input_shape[0], self.num_outputs)

  def get_config(self):
    config = super().get_config()
    config.update(num_outputs=self.num_outputs, width=self.width,
                  blocks_per_stage=list(self.blocks_per_stage))
    return config
