"""handvol's packaging.

A plain Python package: `pip install .` (or a wheel from `python -m build`) needs no TensorFlow
and no compiler to install. The overlap op's C++/CUDA sources travel inside the package
(`handvol/ops/_sources`, copied from `custom_ops/cc` at build time) and are compiled on first
use against the TensorFlow that runs them, into a cache (`handvol.ops.build`,
docs/overlap_op.md).

TensorFlow: the `tensorflow` wheel, which runs on CPUs and, with the `gpu` extra's CUDA
libraries from pip, on NVIDIA GPUs. Whoever manages TensorFlow themselves (a tensorflow-cpu
install, a conda build) builds with HANDVOL_TF_REQUIREMENT set to their requirement, or to ""
for none, so that pip does not install a second TensorFlow on top of theirs.
"""

import os
import pathlib
import shutil

import setuptools
from setuptools.command import build_py

TF_VERSION = "2.21.0"
ROOT = pathlib.Path(__file__).resolve().parent
TF_REQUIREMENT = os.environ.get("HANDVOL_TF_REQUIREMENT", f"tensorflow=={TF_VERSION}")


class BuildPyWithOpSources(build_py.build_py):
  """Copies custom_ops/cc into the built package as handvol/ops/_sources."""

  def run(self):
    super().run()
    if not self.editable_mode:
      target = pathlib.Path(self.build_lib) / "handvol" / "ops" / "_sources"
      shutil.rmtree(target, ignore_errors=True)
      shutil.copytree(ROOT / "custom_ops" / "cc", target)


setuptools.setup(
    name="handvol",
    version="0.1.0",
    description=("3D hand pose estimation from depth with a generative model-based loss "
                 "(Wang et al. 2020) in TensorFlow / Keras 3"),
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["handvol", "handvol.*"]),
    cmdclass={"build_py": BuildPyWithOpSources},
    include_package_data=True,
    # *.keras: the shipped pretrained model (handvol/pretrained/, 3 MB).
    package_data={"handvol": ["**/*.npz", "**/*.json", "**/*.keras", "**/*.html", "**/*.js",
                              "**/*.css"]},
    install_requires=[
        *([TF_REQUIREMENT] if TF_REQUIREMENT else []),
        "keras>=3.10,<4",
        "numpy>=1.26",
        "scipy>=1.11",
        "opencv-python-headless>=4.8",
        "absl-py>=2.0",
        "matplotlib>=3.8",
        # tf.summary and keras.callbacks.TensorBoard need it.
        "tensorboard>=2.20",
        # the annotation app (python -m handvol.annotate): a small, well-kept WSGI framework.
        "flask>=3.0",
    ],
    extras_require={
        "gpu": [f"tensorflow[and-cuda]=={TF_VERSION}"],
        # python -m handvol.track --bag/--camera (docs/track.md).
        "realsense": ["pyrealsense2>=2.54"],
        # python -m handvol.export --formats litert,onnx and their runtimes (docs/serving.md).
        "litert": ["ai-edge-litert>=2.0"],
        "onnx": ["tf2onnx>=1.17", "onnx>=1.16", "onnxruntime>=1.18"],
        # pyrealsense2: the RealSense path of handvol.track is tested without a camera.
        "test": ["pytest>=8", "pytest-xdist>=3.5", "import-linter>=2.0", "playwright>=1.45",
                 "pyrealsense2>=2.54", "ai-edge-litert>=2.0", "tf2onnx>=1.17", "onnx>=1.16",
                 "onnxruntime>=1.18"],
    },
)
