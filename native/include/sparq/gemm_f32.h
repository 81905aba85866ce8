// Dense f32 GEMM: the packed weight layout every tier reads, the kernel contract, the driver's
// entry points. Plain C++, no Node-API. Rules: docs/gemm-f32.md.
//
// Packed layout (one for every tier, so a matrix packed under one tier runs on any other):
// W [n×k] (out × in) is cut into ceil(n/16) panels of 16 output columns; panel q holds
// k rows of 16 floats, element (p, j) = W[(16q + j)·k + p], columns past n zero.
// Panel q starts at q·16·k floats; the whole buffer is 64-byte aligned.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace sparq {

constexpr int kF32Panel = 16;

// The B operand of a kernel call: `panels` consecutive 16-wide panels.
// Element (p, j) of panel q is at data[q·panelStride + p·ldb + j]. Packed weights have
// panelStride = 16·k and ldb = 16; the driver may also hand a kernel an unpacked row-major
// B [k×n] (panelStride = 16, ldb = n); then columns ≥ `cols` of the last panel do not exist
// and must not be read.
struct F32Panels {
  const float* data;
  size_t panelStride;
  size_t ldb;
  int panels;
  int cols;  // real columns across these panels (≤ 16·panels)
};

// C[i·ldc + j] = Σ_{p<k} A[i·lda + p]·B(p, j) for i in [0, m) and the cols columns of b.
// The sum for each element is one chain of fused multiply-adds in p order starting from +0
// (so any blocking of m, n or k gives the same bits, and so does any thread split); a kernel
// may keep partial sums in C between k-blocks because storing and reloading an f32 is exact.
// Every tier therefore computes the same bits as the scalar kernel, which uses std::fma.
// k = 0 writes +0. The kernel writes exactly the m×cols elements of C, nothing else.
using F32GemmFn = void (*)(const float* a, size_t lda, int m, size_t k, const F32Panels& b, float* c, size_t ldc);

struct F32GemmKernels {
  const char* tier;
  F32GemmFn gemm;
};

extern const F32GemmKernels gemmF32__scalar;
extern const F32GemmKernels gemmF32__avx2;
extern const F32GemmKernels gemmF32__avx512;
extern const F32GemmKernels gemmF32__neon;

// The kernel of the active tier (avx512vnni uses avx512's; neondot and i8mm use neon's).
const F32GemmKernels& f32GemmKernels();
// "gemm_f32__<tier>" of the kernel that ran last.
const char* lastF32GemmKernel();

// W [n×k] packed into the layout above, in native-owned memory.
class PackedF32 {
 public:
  PackedF32(const float* w, int n, int k);
  int n() const { return n_; }
  int k() const { return k_; }
  int panels() const { return (n_ + kF32Panel - 1) / kF32Panel; }
  const float* data() const { return data_.get(); }
  size_t bytes() const { return size_t(panels()) * kF32Panel * size_t(k_) * sizeof(float); }
  F32Panels view() const { return {data(), size_t(kF32Panel) * size_t(k_), size_t(kF32Panel), panels(), n_}; }
  void unpack(float* w) const;  // W [n×k] back

 private:
  struct Free {
    void operator()(float* p) const;
  };
  int n_, k_;
  std::unique_ptr<float, Free> data_;
};

// Y[m×n] = X[m×k]·Wᵀ (+ bias[n]: y = sum, then + bias, one more rounding). m, n, k ≥ 1.
void linearF32(const float* x, int m, const PackedF32& w, const float* bias, float* y);
// Writes panels [q0, q1) of some W [n×k] into `out` in the packed layout above (16·k floats a
// panel, columns past n zero). Called from pool tasks, each for its own panels.
using F32PanelPacker = std::function<void(size_t q0, size_t q1, float* out)>;
// linearF32 on a W that is never stored as f32: each task has `pack` make its panels into its
// scratch just before its kernel call. The bits are those of linearF32 on the packed W.
void linearF32Packed(const float* x, int m, int n, int k, const F32PanelPacker& pack, const float* bias, float* y);
// C[m×n] = A[m×k]·B with B [k×n] row-major, or B [n×k] when transB (then C = A·Bᵀ); A given as
// [k×m] when transA (then C = Aᵀ·B: the weight gradient dW = dYᵀ·X of a linear layer).
void gemmF32(const float* a, const float* b, int m, int n, int k, bool transB, bool transA, float* c);

}  // namespace sparq
