"""handvol's packaging.

TensorFlow comes in two wheels that install the same `tensorflow` module: pick one with an
extra, `handvol[cpu]` (tensorflow-cpu, no CUDA) or `handvol[gpu]` (tensorflow[and-cuda], CUDA
12.5 libraries from pip). Neither is a plain requirement, because requiring `tensorflow` would
pull the 570 MB GPU wheel on top of an installed tensorflow-cpu. Install TensorFlow first and
then this package without build isolation, so that the custom op compiles against the very
TensorFlow it will run with (README, "Install").
"""

import importlib.util
import pathlib

import setuptools
from setuptools.command import build_ext

TF_VERSION = "2.21.0"
OPS_EXTENSION = "handvol.ops._handvol_ops"
CUSTOM_OPS = pathlib.Path(__file__).resolve().parent / "custom_ops"


def _custom_ops_build():
  """custom_ops/build.py as a module (it is not part of the installed package)."""
  spec = importlib.util.spec_from_file_location("handvol_custom_ops_build",
                                                CUSTOM_OPS / "build.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


class BuildExtWithCustomOps(build_ext.build_ext):
  """Builds the overlap op's library with custom_ops/build.py (TF's own flags, nvcc if found).

  An editable install builds it in place (handvol/ops/); a wheel gets it in its build folder,
  beside `_handvol_ops.build.json`.
  """

  def build_extension(self, ext):
    if ext.name != OPS_EXTENSION:
      super().build_extension(ext)
      return
    _custom_ops_build().build_library(self.get_ext_fullpath(ext.name))

  def _build_info_files(self):
    """(in-place, build folder) paths of the build record, which travels with the library."""
    build_py = self.get_finalized_command("build_py")
    name = _custom_ops_build().BUILD_INFO_NAME
    for ext in self.extensions:
      if ext.name == OPS_EXTENSION:
        inplace, regular = self._get_inplace_equivalent(build_py, ext)
        yield (str(pathlib.Path(inplace).with_name(name)),
               str(pathlib.Path(regular).with_name(name)))

  def copy_extensions_to_source(self):
    super().copy_extensions_to_source()
    for inplace, regular in self._build_info_files():
      self.copy_file(regular, inplace, level=self.verbose)

  def _get_output_mapping(self):
    yield from super()._get_output_mapping()
    if self.inplace:
      yield from ((regular, inplace) for inplace, regular in self._build_info_files())

  def get_outputs(self):
    outputs = super().get_outputs()
    if not self.inplace:
      outputs += [regular for _, regular in self._build_info_files()]
    return outputs


setuptools.setup(
    name="handvol",
    version="0.1.0",
    description=("3D hand pose estimation from depth with a generative model-based loss "
                 "(Wang et al. 2020) in TensorFlow / Keras 3"),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["handvol", "handvol.*"]),
    ext_modules=[setuptools.Extension(
        OPS_EXTENSION,
        sources=[f"custom_ops/cc/{s}" for s in _custom_ops_build().ALL_SOURCES])],
    cmdclass={"build_ext": BuildExtWithCustomOps},
    include_package_data=True,
    package_data={"handvol": ["**/*.npz", "**/*.json"]},
    install_requires=[
        "keras>=3.10,<4",
        "numpy>=1.26",
        "scipy>=1.11",
        "opencv-python-headless>=4.8",
        "absl-py>=2.0",
        "matplotlib>=3.8",
        # tf.summary and keras.callbacks.TensorBoard need it; tensorflow-cpu does not pull it.
        "tensorboard>=2.20",
        # the annotation app (python -m handvol.annotate): a small, well-kept WSGI framework.
        "flask>=3.0",
    ],
    extras_require={
        "cpu": [f"tensorflow-cpu=={TF_VERSION}"],
        "gpu": [f"tensorflow[and-cuda]=={TF_VERSION}"],
        "test": ["pytest>=8", "pytest-xdist>=3.5", "import-linter>=2.0", "playwright>=1.45"],
    },
)
