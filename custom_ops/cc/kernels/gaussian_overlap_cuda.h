// Launchers of the CUDA kernels of the Gaussian overlap, callable from host code that does not
// see the kernels (the TF op, the standalone harness). No TensorFlow include.
//
// All pointers are device pointers in the op's layouts: image [B, N_i, 4], mask [B, N_i],
// model [B, N_m, 4], sigma_3d [B, N_m], out [B]; grad [B], grad_model [B, N_m, 4],
// grad_sigma_3d [B, N_m]. The launchers zero their outputs themselves, on `stream`.
#ifndef HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CUDA_H_
#define HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CUDA_H_

#include <cuda_runtime_api.h>

namespace handvol {

template <typename T>
cudaError_t LaunchGaussianOverlap(cudaStream_t stream, const T* image, const T* mask,
                                  const T* model, const T* sigma_3d, int batch, int n_i, int n_m,
                                  T eps, T* out);

template <typename T>
cudaError_t LaunchGaussianOverlapGrad(cudaStream_t stream, const T* grad, const T* image,
                                      const T* mask, const T* model, const T* sigma_3d, int batch,
                                      int n_i, int n_m, T eps, T* grad_model, T* grad_sigma_3d);

}  // namespace handvol

#endif  // HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CUDA_H_
