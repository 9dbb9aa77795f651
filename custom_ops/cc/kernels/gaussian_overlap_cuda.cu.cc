// Instantiates the CUDA launchers for the op's two dtypes. Compiled by nvcc only when the build
// finds it (custom_ops/build.py), with GOOGLE_CUDA=1 set for the TF kernel file that calls them.
#include "gaussian_overlap_cuda.cuh"

namespace handvol {

template cudaError_t LaunchGaussianOverlap<float>(cudaStream_t, const float*, const float*,
                                                  const float*, const float*, int, int, int,
                                                  float, float*);
template cudaError_t LaunchGaussianOverlap<double>(cudaStream_t, const double*, const double*,
                                                   const double*, const double*, int, int, int,
                                                   double, double*);
template cudaError_t LaunchGaussianOverlapGrad<float>(cudaStream_t, const float*, const float*,
                                                      const float*, const float*, const float*,
                                                      int, int, int, float, float*, float*);
template cudaError_t LaunchGaussianOverlapGrad<double>(cudaStream_t, const double*,
                                                       const double*, const double*,
                                                       const double*, const double*, int, int,
                                                       int, double, double*, double*);

}  // namespace handvol
