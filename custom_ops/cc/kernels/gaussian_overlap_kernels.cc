// TF kernels of Handvol>GaussianOverlap, Handvol>GaussianOverlapGrad and (CPU only)
// Handvol>ImageSelfOverlap: input checks, output allocation, and the device functors. The CPU
// functors shard the loops of
// gaussian_overlap_cpu.h over TF's CPU thread pool; the GPU functor calls the launchers of
// gaussian_overlap_cuda.h on the op's stream. Compute is reentrant (MirroredStrategy replicas
// call it concurrently): all scratch is per call.
#define EIGEN_USE_THREADS
#if GOOGLE_CUDA
#define EIGEN_USE_GPU
#endif

#include <algorithm>
#include <limits>
#include <vector>

#include "gaussian_overlap_cpu.h"
#include "gaussian_overlap_math.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"
#include "tensorflow/core/lib/core/threadpool.h"
#include "tensorflow/core/util/work_sharder.h"
#include "unsupported/Eigen/CXX11/Tensor"

#if GOOGLE_CUDA
#include "gaussian_overlap_cuda.h"
#endif

namespace handvol {

using ::tensorflow::DataTypeToEnum;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using ::tensorflow::errors::InvalidArgument;
using CPUDevice = Eigen::ThreadPoolDevice;
#if GOOGLE_CUDA
using GPUDevice = Eigen::GpuDevice;
#endif

// Rough CPU cycles of one (image, model) pair, for the thread pool's sharding decisions.
constexpr int64_t kPairCost = 40;
// Rough CPU cycles to bucket one image Gaussian by depth.
constexpr int64_t kBucketCost = 30;

#define HANDVOL_REQUIRE(condition, error) \
  if (!(condition)) return (error)

// The overlap inputs, checked, with their sizes.
template <typename T>
struct OverlapInputs {
  const T* image;
  const T* mask;
  const T* model;
  const T* sigma_3d;
  int batch, n_i, n_m;
  T eps;
};

// Checks shapes of the inputs starting at input `first` at run time (the shape function checks
// what is known at graph time).
template <typename T>
absl::Status GetOverlapInputs(OpKernelContext* ctx, int first, float eps,
                              OverlapInputs<T>* inputs) {
  const Tensor& image = ctx->input(first);
  const Tensor& mask = ctx->input(first + 1);
  const Tensor& model = ctx->input(first + 2);
  const Tensor& sigma_3d = ctx->input(first + 3);
  HANDVOL_REQUIRE(image.dims() == 3 && image.dim_size(2) == kGaussianSize,
                  InvalidArgument("image_gaussians must have shape [B, N_i, 4], got ",
                                  image.shape().DebugString()));
  HANDVOL_REQUIRE(model.dims() == 3 && model.dim_size(2) == kGaussianSize,
                  InvalidArgument("model_gaussians must have shape [B, N_m, 4], got ",
                                  model.shape().DebugString()));
  const int64_t batch = image.dim_size(0);
  HANDVOL_REQUIRE(mask.dims() == 2 && mask.dim_size(0) == batch &&
                      mask.dim_size(1) == image.dim_size(1),
                  InvalidArgument("image_mask must have shape [B, N_i] = [", batch, ", ",
                                  image.dim_size(1), "], got ", mask.shape().DebugString()));
  HANDVOL_REQUIRE(model.dim_size(0) == batch,
                  InvalidArgument("model_gaussians must have batch size ", batch, ", got ",
                                  model.shape().DebugString()));
  HANDVOL_REQUIRE(sigma_3d.dims() == 2 && sigma_3d.dim_size(0) == batch &&
                      sigma_3d.dim_size(1) == model.dim_size(1),
                  InvalidArgument("model_sigma_3d must have shape [B, N_m] = [", batch, ", ",
                                  model.dim_size(1), "], got ",
                                  sigma_3d.shape().DebugString()));
  HANDVOL_REQUIRE(image.NumElements() < std::numeric_limits<int>::max() &&
                      model.NumElements() < std::numeric_limits<int>::max(),
                  InvalidArgument("image_gaussians and model_gaussians must have fewer than "
                                  "2^31 elements"));
  *inputs = OverlapInputs<T>{image.flat<T>().data(), mask.flat<T>().data(),
                             model.flat<T>().data(), sigma_3d.flat<T>().data(),
                             static_cast<int>(batch), static_cast<int>(image.dim_size(1)),
                             static_cast<int>(model.dim_size(1)), static_cast<T>(eps)};
  return absl::OkStatus();
}

template <typename Device, typename T>
struct OverlapFunctor;
template <typename Device, typename T>
struct OverlapGradFunctor;

// The valid image Gaussians of every batch element, bucketed by depth into per-call scratch.
template <typename T>
class SortedImages {
 public:
  // image [batch, n_i, 4], mask [batch, n_i].
  absl::Status Init(OpKernelContext* ctx, const T* image, const T* mask, int batch, int n_i) {
    TF_RETURN_IF_ERROR(ctx->allocate_temp(
        DataTypeToEnum<T>::value, TensorShape({batch, kSortedImageArrays, n_i}), &storage_));
    TF_RETURN_IF_ERROR(ctx->allocate_temp(
        ::tensorflow::DT_INT32, TensorShape({batch, BucketStorageSize(n_i)}), &buckets_));
    images_.resize(batch);
    T* storage = storage_.flat<T>().data();
    int* buckets = buckets_.flat<int>().data();
    Shard(ctx, batch, kBucketCost * n_i, [=](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t offset = b * n_i;
        images_[b] = BucketImageByDepth(image + offset * kGaussianSize, mask + offset, n_i,
                                        storage + offset * kSortedImageArrays,
                                        buckets + b * BucketStorageSize(n_i));
      }
    });
    return absl::OkStatus();
  }

  const SortedImage<T>& operator[](int b) const { return images_[b]; }

  // Runs fn(begin, end) over [0, total) on TF's CPU thread pool.
  template <typename Fn>
  static void Shard(OpKernelContext* ctx, int64_t total, int64_t cost_per_unit, Fn fn) {
    ctx->device()->tensorflow_cpu_worker_threads()->workers->ParallelFor(total, cost_per_unit,
                                                                         fn);
  }

 private:
  Tensor storage_;
  Tensor buckets_;
  std::vector<SortedImage<T>> images_;
};

template <typename T>
struct OverlapFunctor<CPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const OverlapInputs<T>& in, T* out) {
    SortedImages<T> images;
    TF_RETURN_IF_ERROR(images.Init(ctx, in.image, in.mask, in.batch, in.n_i));
    std::vector<T> partial(static_cast<size_t>(in.batch) * in.n_m);
    SortedImages<T>::Shard(ctx, partial.size(), kPairCost * in.n_i,
                           [&in, &images, &partial](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        partial[k] = OverlapWithImage(images[k / in.n_m], in.model + k * kGaussianSize,
                                      in.sigma_3d[k], in.eps);
      }
    });
    // A fixed order of summation: the result does not depend on the sharding.
    for (int b = 0; b < in.batch; ++b) {
      double sum = 0;
      for (int p = 0; p < in.n_m; ++p) sum += partial[static_cast<size_t>(b) * in.n_m + p];
      out[b] = static_cast<T>(sum);
    }
    return absl::OkStatus();
  }
};

template <typename T>
struct OverlapGradFunctor<CPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const T* grad, const OverlapInputs<T>& in,
                          T* grad_model, T* grad_sigma_3d) {
    SortedImages<T> images;
    TF_RETURN_IF_ERROR(images.Init(ctx, in.image, in.mask, in.batch, in.n_i));
    std::fill(grad_model, grad_model + static_cast<size_t>(in.batch) * in.n_m * kGaussianSize,
              T(0));
    std::fill(grad_sigma_3d, grad_sigma_3d + static_cast<size_t>(in.batch) * in.n_m, T(0));
    SortedImages<T>::Shard(
        ctx, static_cast<int64_t>(in.batch) * in.n_m, kPairCost * 2 * in.n_i,
        [&](int64_t begin, int64_t end) {
          for (int64_t k = begin; k < end; ++k) {
            const int b = k / in.n_m;
            OverlapGradWithImage(images[b], in.model + k * kGaussianSize, in.sigma_3d[k], in.eps,
                                 grad[b], grad_model + k * kGaussianSize, grad_sigma_3d + k);
          }
        });
    return absl::OkStatus();
  }
};

#if GOOGLE_CUDA
template <typename T>
struct OverlapFunctor<GPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const OverlapInputs<T>& in, T* out) {
    const cudaError_t status =
        LaunchGaussianOverlap(ctx->eigen_device<GPUDevice>().stream(), in.image, in.mask,
                              in.model, in.sigma_3d, in.batch, in.n_i, in.n_m, in.eps, out);
    HANDVOL_REQUIRE(status == cudaSuccess,
                    ::tensorflow::errors::Internal("GaussianOverlap CUDA launch failed: ",
                                                   cudaGetErrorString(status)));
    return absl::OkStatus();
  }
};

template <typename T>
struct OverlapGradFunctor<GPUDevice, T> {
  absl::Status operator()(OpKernelContext* ctx, const T* grad, const OverlapInputs<T>& in,
                          T* grad_model, T* grad_sigma_3d) {
    const cudaError_t status = LaunchGaussianOverlapGrad(
        ctx->eigen_device<GPUDevice>().stream(), grad, in.image, in.mask, in.model, in.sigma_3d,
        in.batch, in.n_i, in.n_m, in.eps, grad_model, grad_sigma_3d);
    HANDVOL_REQUIRE(status == cudaSuccess,
                    ::tensorflow::errors::Internal("GaussianOverlapGrad CUDA launch failed: ",
                                                   cudaGetErrorString(status)));
    return absl::OkStatus();
  }
};
#endif  // GOOGLE_CUDA

template <typename Device, typename T>
class GaussianOverlapOp : public OpKernel {
 public:
  explicit GaussianOverlapOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("eps", &eps_));
  }

  void Compute(OpKernelContext* ctx) override {
    OverlapInputs<T> in;
    OP_REQUIRES_OK(ctx, GetOverlapInputs(ctx, 0, eps_, &in));
    Tensor* out = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({in.batch}), &out));
    OP_REQUIRES_OK(ctx, OverlapFunctor<Device, T>()(ctx, in, out->flat<T>().data()));
  }

 private:
  float eps_;
};

template <typename Device, typename T>
class GaussianOverlapGradOp : public OpKernel {
 public:
  explicit GaussianOverlapGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("eps", &eps_));
  }

  void Compute(OpKernelContext* ctx) override {
    OverlapInputs<T> in;
    OP_REQUIRES_OK(ctx, GetOverlapInputs(ctx, 1, eps_, &in));
    const Tensor& grad = ctx->input(0);
    OP_REQUIRES(ctx, grad.dims() == 1 && grad.dim_size(0) == in.batch,
                InvalidArgument("grad must have shape [B] = [", in.batch, "], got ",
                                grad.shape().DebugString()));
    Tensor* grad_model = nullptr;
    Tensor* grad_sigma_3d = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, ctx->input(3).shape(), &grad_model));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, ctx->input(4).shape(), &grad_sigma_3d));
    OP_REQUIRES_OK(ctx, OverlapGradFunctor<Device, T>()(ctx, grad.flat<T>().data(), in,
                                                        grad_model->flat<T>().data(),
                                                        grad_sigma_3d->flat<T>().data()));
  }

 private:
  float eps_;
};

// Handvol>ImageSelfOverlap: each unit is one row i of the upper triangle of one batch element,
// Σ_i Σ_k = Σ_i mask_i·(mask_i·S_ii + 2·Σ_{k>i} mask_k·S_ik), S_ii = π·σ_i².
template <typename T>
class ImageSelfOverlapOp : public OpKernel {
 public:
  explicit ImageSelfOverlapOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("eps", &eps_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& image = ctx->input(0);
    const Tensor& mask = ctx->input(1);
    OP_REQUIRES(ctx, image.dims() == 3 && image.dim_size(2) == kGaussianSize,
                InvalidArgument("image_gaussians must have shape [B, N_i, 4], got ",
                                image.shape().DebugString()));
    OP_REQUIRES(ctx,
                mask.dims() == 2 && mask.dim_size(0) == image.dim_size(0) &&
                    mask.dim_size(1) == image.dim_size(1),
                InvalidArgument("image_mask must have shape [B, N_i] = [", image.dim_size(0),
                                ", ", image.dim_size(1), "], got ", mask.shape().DebugString()));
    OP_REQUIRES(ctx, image.NumElements() < std::numeric_limits<int>::max(),
                InvalidArgument("image_gaussians must have fewer than 2^31 elements"));
    const int batch = image.dim_size(0);
    const int n_i = image.dim_size(1);
    Tensor* out = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch}), &out));
    SortedImages<T> images;
    OP_REQUIRES_OK(ctx, images.Init(ctx, image.flat<T>().data(), mask.flat<T>().data(), batch,
                                    n_i));
    const T eps = static_cast<T>(eps_);
    std::vector<T> rows(static_cast<size_t>(batch) * n_i);
    SortedImages<T>::Shard(ctx, rows.size(), kPairCost * n_i / 2,
                           [&images, &rows, n_i, eps](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const SortedImage<T>& sorted = images[k / n_i];
        const int i = k % n_i;
        if (i >= sorted.count) {
          rows[k] = T(0);
          continue;
        }
        const T diagonal = T(kTwoPi / 2) * sorted.variance[i] * sorted.weight[i];
        rows[k] = sorted.weight[i] * (diagonal + T(2) * SelfOverlapRow(sorted, i, eps));
      }
    });
    auto flat = out->flat<T>();
    for (int b = 0; b < batch; ++b) {
      double sum = 0;
      for (int i = 0; i < n_i; ++i) sum += rows[static_cast<size_t>(b) * n_i + i];
      flat(b) = static_cast<T>(sum);
    }
  }

 private:
  float eps_;
};

#define HANDVOL_REGISTER(DEVICE, DEVICE_TYPE, T)                                                \
  REGISTER_KERNEL_BUILDER(                                                                      \
      Name("Handvol>GaussianOverlap").Device(DEVICE).TypeConstraint<T>("T"),                   \
      GaussianOverlapOp<DEVICE_TYPE, T>);                                                       \
  REGISTER_KERNEL_BUILDER(                                                                      \
      Name("Handvol>GaussianOverlapGrad").Device(DEVICE).TypeConstraint<T>("T"),               \
      GaussianOverlapGradOp<DEVICE_TYPE, T>);
HANDVOL_REGISTER(::tensorflow::DEVICE_CPU, CPUDevice, float)
HANDVOL_REGISTER(::tensorflow::DEVICE_CPU, CPUDevice, double)
#if GOOGLE_CUDA
HANDVOL_REGISTER(::tensorflow::DEVICE_GPU, GPUDevice, float)
HANDVOL_REGISTER(::tensorflow::DEVICE_GPU, GPUDevice, double)
#endif
#undef HANDVOL_REGISTER
REGISTER_KERNEL_BUILDER(
    Name("Handvol>ImageSelfOverlap").Device(::tensorflow::DEVICE_CPU).TypeConstraint<float>("T"),
    ImageSelfOverlapOp<float>);
REGISTER_KERNEL_BUILDER(
    Name("Handvol>ImageSelfOverlap").Device(::tensorflow::DEVICE_CPU).TypeConstraint<double>("T"),
    ImageSelfOverlapOp<double>);
#undef HANDVOL_REQUIRE

// Handvol>CpuIsa: the instruction set of the CPU pair loops, as a string scalar.
class CpuIsaOp : public OpKernel {
 public:
  explicit CpuIsaOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    Tensor* out = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({}), &out));
    out->scalar<::tensorflow::tstring>()() = CpuIsaName(ActiveCpuIsa());
  }
};
REGISTER_KERNEL_BUILDER(Name("Handvol>CpuIsa").Device(::tensorflow::DEVICE_CPU), CpuIsaOp);

}  // namespace handvol
