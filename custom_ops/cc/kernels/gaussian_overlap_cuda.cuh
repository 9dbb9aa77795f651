// CUDA kernels of the Gaussian overlap and their launchers (declared in gaussian_overlap_cuda.h).
// No TensorFlow include, so the standalone harness (custom_ops/harness/) compiles the very code
// the op runs.
//
// Layout: a block covers kThreads image Gaussians of one batch element (grid.y = batch); the
// model Gaussians of that element are staged in shared memory in tiles of kModelTile, and every
// thread walks them for its own image Gaussian, skipping pairs with Δ = 0 (no exp). Per batch
// element the forward sum is reduced in the block, then added with one atomicAdd per block; the
// gradient is reduced per model Gaussian over each warp (shuffles), accumulated per block in
// shared memory, then added to global memory with one atomicAdd per block and value.
#ifndef HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CUDA_CUH_
#define HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CUDA_CUH_

#include <cuda_runtime.h>

#include "gaussian_overlap_cuda.h"
#include "gaussian_overlap_math.h"

namespace handvol {
namespace cuda {

constexpr int kThreads = 256;
constexpr int kWarpSize = 32;
constexpr int kWarps = kThreads / kWarpSize;
constexpr int kModelTile = 128;
constexpr unsigned kFullWarp = 0xffffffffu;
// Gradient values per model Gaussian: u, v, σ, z, σ_h.
constexpr int kGradValues = 5;

template <typename T>
__device__ __forceinline__ T WarpSum(T value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    value += __shfl_down_sync(kFullWarp, value, offset);
  }
  return value;
}

// An image Gaussian as the pair math takes it: centre, σ², depth.
template <typename T>
struct ImageGaussian {
  T u, v, variance, z;
};

// Image Gaussian i of a batch element's `image` [N_i, 4], or zeros where it does not count.
template <typename T>
__device__ __forceinline__ ImageGaussian<T> LoadImageGaussian(const T* image, int i, bool counts) {
  ImageGaussian<T> g = {T(0), T(0), T(0), T(0)};
  if (counts) {
    const T* values = image + static_cast<size_t>(i) * kGaussianSize;
    g = {values[kU], values[kV], values[kSigma] * values[kSigma], values[kZ]};
  }
  return g;
}

// Stages model Gaussians [first, first + count) of one batch element into shared memory.
template <typename T>
__device__ __forceinline__ void StageModelTile(const T* model, const T* sigma_3d, int first,
                                               int count, T eps, ModelGaussian<T>* tile) {
  for (int k = threadIdx.x; k < count; k += blockDim.x) {
    tile[k] = MakeModelGaussian(model + (first + k) * kGaussianSize, sigma_3d[first + k], eps);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    GaussianOverlapKernel(const T* __restrict__ image, const T* __restrict__ mask,
                          const T* __restrict__ model, const T* __restrict__ sigma_3d, int n_i,
                          int n_m, T eps, T* __restrict__ out) {
  __shared__ ModelGaussian<T> tile[kModelTile];
  __shared__ T warp_sums[kWarps];
  const int b = blockIdx.y;
  const int i = blockIdx.x * kThreads + threadIdx.x;
  image += static_cast<size_t>(b) * n_i * kGaussianSize;
  model += static_cast<size_t>(b) * n_m * kGaussianSize;
  sigma_3d += static_cast<size_t>(b) * n_m;
  const T weight = i < n_i ? mask[static_cast<size_t>(b) * n_i + i] : T(0);
  const ImageGaussian<T> g = LoadImageGaussian(image, i, weight != T(0));
  T sum = 0;
  for (int first = 0; first < n_m; first += kModelTile) {
    const int count = min(kModelTile, n_m - first);
    StageModelTile(model, sigma_3d, first, count, eps, tile);
    __syncthreads();
    if (weight != T(0)) {
      for (int p = 0; p < count; ++p) {
        const T depth_weight = DepthWeight(g.z, tile[p]);
        if (depth_weight > T(0)) {
          sum += depth_weight * Overlap2d(g.u, g.v, g.variance, tile[p], eps);
        }
      }
    }
    __syncthreads();
  }
  sum = WarpSum(weight * sum);
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  if (lane == 0) warp_sums[warp] = sum;
  __syncthreads();
  if (warp == 0) {
    sum = lane < kWarps ? warp_sums[lane] : T(0);
    sum = WarpSum(sum);
    if (lane == 0) atomicAdd(out + b, sum);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    GaussianOverlapGradKernel(const T* __restrict__ grad, const T* __restrict__ image,
                              const T* __restrict__ mask, const T* __restrict__ model,
                              const T* __restrict__ sigma_3d, int n_i, int n_m, T eps,
                              T* __restrict__ grad_model, T* __restrict__ grad_sigma_3d) {
  __shared__ ModelGaussian<T> tile[kModelTile];
  __shared__ T tile_grad[kModelTile][kGradValues];
  const int b = blockIdx.y;
  const int i = blockIdx.x * kThreads + threadIdx.x;
  image += static_cast<size_t>(b) * n_i * kGaussianSize;
  model += static_cast<size_t>(b) * n_m * kGaussianSize;
  sigma_3d += static_cast<size_t>(b) * n_m;
  grad_model += static_cast<size_t>(b) * n_m * kGaussianSize;
  grad_sigma_3d += static_cast<size_t>(b) * n_m;
  const T weight = (i < n_i ? mask[static_cast<size_t>(b) * n_i + i] : T(0)) * grad[b];
  const ImageGaussian<T> image_gaussian = LoadImageGaussian(image, i, weight != T(0));
  const int lane = threadIdx.x % kWarpSize;
  for (int first = 0; first < n_m; first += kModelTile) {
    const int count = min(kModelTile, n_m - first);
    StageModelTile(model, sigma_3d, first, count, eps, tile);
    for (int k = threadIdx.x; k < count * kGradValues; k += blockDim.x) {
      tile_grad[k / kGradValues][k % kGradValues] = T(0);
    }
    __syncthreads();
    for (int p = 0; p < count; ++p) {
      PairGradient<T> g = {T(0), T(0), T(0), T(0), T(0)};
      if (weight != T(0) && DepthWeight(image_gaussian.z, tile[p]) > T(0)) {
        g = PairGrad(image_gaussian.u, image_gaussian.v, image_gaussian.variance,
                     image_gaussian.z, tile[p], eps);
      }
      // Every lane takes part in the shuffles, also those with nothing to add.
      const T values[kGradValues] = {WarpSum(weight * g.u), WarpSum(weight * g.v),
                                     WarpSum(weight * g.sigma), WarpSum(weight * g.z),
                                     WarpSum(weight * g.sigma_3d)};
      if (lane == 0) {
        for (int c = 0; c < kGradValues; ++c) atomicAdd(&tile_grad[p][c], values[c]);
      }
    }
    __syncthreads();
    for (int k = threadIdx.x; k < count * kGradValues; k += blockDim.x) {
      const int p = first + k / kGradValues;
      const int c = k % kGradValues;
      T* target = c < kGaussianSize ? grad_model + p * kGaussianSize + c : grad_sigma_3d + p;
      atomicAdd(target, tile_grad[k / kGradValues][c]);
    }
    __syncthreads();
  }
}

inline dim3 GridFor(int batch, int n_i) { return dim3((n_i + kThreads - 1) / kThreads, batch); }

}  // namespace cuda

template <typename T>
cudaError_t LaunchGaussianOverlap(cudaStream_t stream, const T* image, const T* mask,
                                  const T* model, const T* sigma_3d, int batch, int n_i, int n_m,
                                  T eps, T* out) {
  cudaError_t status = cudaMemsetAsync(out, 0, sizeof(T) * batch, stream);
  if (status != cudaSuccess || batch == 0 || n_i == 0 || n_m == 0) return status;
  cuda::GaussianOverlapKernel<T><<<cuda::GridFor(batch, n_i), cuda::kThreads, 0, stream>>>(
      image, mask, model, sigma_3d, n_i, n_m, eps, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchGaussianOverlapGrad(cudaStream_t stream, const T* grad, const T* image,
                                      const T* mask, const T* model, const T* sigma_3d, int batch,
                                      int n_i, int n_m, T eps, T* grad_model, T* grad_sigma_3d) {
  const size_t n_model = static_cast<size_t>(batch) * n_m;
  cudaError_t status =
      cudaMemsetAsync(grad_model, 0, sizeof(T) * n_model * kGaussianSize, stream);
  if (status == cudaSuccess) {
    status = cudaMemsetAsync(grad_sigma_3d, 0, sizeof(T) * n_model, stream);
  }
  if (status != cudaSuccess || batch == 0 || n_i == 0 || n_m == 0) return status;
  cuda::GaussianOverlapGradKernel<T><<<cuda::GridFor(batch, n_i), cuda::kThreads, 0, stream>>>(
      grad, image, mask, model, sigma_3d, n_i, n_m, eps, grad_model, grad_sigma_3d);
  return cudaGetLastError();
}

}  // namespace handvol

#endif  // HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CUDA_CUH_
