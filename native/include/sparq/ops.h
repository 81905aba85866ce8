// Kernel contract of the transformer ops beside the matmuls (lib/nn/ops.ts; reference
// lib/reference/ops.ts). Every op is a fixed sequence of f32 operations, each rounded to f32, no
// FMA (-ffp-contract=off), so every tier equals the scalar kernel and the TS reference bit for bit:
//
//   reductions   a row's sum (or max) has one order on every tier: 16 lanes, lane l adding the
//                elements l, l + 16, l + 32, … in turn, then the lanes folded pairwise
//                (l += l + 8, then + 4, + 2, + 1). An AVX-512 register is the 16 lanes; AVX2
//                holds them in two registers, NEON in four, the scalar kernel in an array.
//   products     accumulate(a, P, B, ldb, n, y): y[j] = Σₚ a[p]·B[p·ldb + j], p in order from +0,
//                each product and each sum rounded (attention's QKᵀ against a transposed K, and ·V).
//   exp          Cody–Waite reduction x = n·ln2 + r (n = roundHalfEven(x·log2 e)), Cephes' degree-5
//                polynomial for e^r, then ·2^⌊n/2⌉·2^(n−⌊n/2⌉); x < −87.33654 gives +0 (e^x would be
//                subnormal), x > 88.72283 gives +∞. tanh, sigmoid, SiLU and both GELUs are built
//                on it (docs/nn.md gives each formula and its measured bound against the exact
//                function; native/tests/test_ops.cc sweeps the scalar kernel over every float).
//   NaN          every op passes a NaN input through as NaN (which NaN is unspecified).
#pragma once
#include <cstddef>

namespace sparq {

enum class Unary : int { relu = 0, tanh, sigmoid, silu, geluErf, geluTanh, exp };

struct OpsKernels {
  const char* name;  // e.g. "ops__avx512"
  void (*unary)(Unary op, const float* x, size_t n, float* y);
  // y = a + b; y = x·s; y = x / s. y may alias an input.
  void (*add)(const float* a, const float* b, size_t n, float* y);
  void (*scale)(const float* x, size_t n, float s, float* y);
  void (*divide)(const float* x, size_t n, float s, float* y);
  // One row of d ≥ 1: μ = Σx/d, eᵢ = xᵢ − μ, σ² = Σeᵢ²/d, r = 1/√(σ² + ε), yᵢ = (γᵢ·r)·eᵢ + βᵢ.
  void (*layerNormRow)(const float* x, int d, const float* gamma, const float* beta, float eps, float* y);
  // One row of n ≥ 1: z = x (+ mask), m = max z, eⱼ = exp(zⱼ − m), yⱼ = eⱼ / Σe. A row whose z are
  // all −∞ gives zeros. y may alias x.
  void (*softmaxRow)(const float* x, int n, const float* mask, float* y);
  void (*accumulate)(const float* a, int p, const float* b, size_t ldb, int n, float* y);
};

// One per tier that has its own; avx512vnni uses avx512's, neondot and i8mm use neon's.
extern const OpsKernels ops__scalar;
extern const OpsKernels ops__avx2;
extern const OpsKernels ops__avx512;
extern const OpsKernels ops__neon;

// Dispatch (native/runtime/ops.cc): the active tier's kernels, split over the pool where the work
// is worth it (elementwise ops in chunks of whole 16-element lines, rows by row ranges; neither
// changes a result). `lastOpsKernel` names the kernel of the last call.
const OpsKernels& opsKernels();
const char* lastOpsKernel();
void unaryOp(Unary op, const float* x, size_t n, float* y);
void addOp(const float* a, const float* b, size_t n, float* y);
// y[r·n + j] = x[r·n + j] + bias[j].
void addBiasOp(const float* x, int rows, int n, const float* bias, float* y);
void layerNormOp(const float* x, int rows, int d, const float* gamma, const float* beta, float eps, float* y);
// mask: null, n values added to every row, or rows·n (maskRows true).
void softmaxOp(const float* x, int rows, int n, const float* mask, bool maskRows, float* y);
// Rows of `table` [vocab×d] at ids (each checked in [0, vocab) by the caller) into y [count×d].
void gatherOp(const float* table, int d, const int* ids, int count, float* y);
// Per segment s of lengths[s] rows of x [Σlengths×d]: the mean of the rows whose keep flag is
// non-zero (all rows when keep is null): Σ in row order, then / max(count, 1).
void meanPoolOp(const float* x, int d, const int* lengths, int segments, const unsigned char* keep, float* y);
// Self-attention over packed sequences (segments of lengths[s] tokens, Σ = tokens) from a fused
// QKV [tokens×3d]: per segment and head of depth d/heads, q' = q·scale, sᵢⱼ = accumulate(q'ᵢ, Kᵀ),
// keys whose keep flag is 0 masked out (−∞), pᵢ = softmax(sᵢ), outᵢ = accumulate(pᵢ, V). Returns
// false when a scratch allocation fails.
bool attentionOp(const float* qkv, int tokens, int d, int heads, float scale, const int* lengths, int segments,
                 const unsigned char* keep, float* y);

}  // namespace sparq
