// Kernel contract of the int8 GEMM family: C[m×n] (s32) = A[m×k] (8-bit, row-major) · B[n×k]ᵀ (s8).
//
// B is the weight in PyTorch Linear layout (out × in). Each kernel packs B once into its own
// layout (`layout` names it; kernels with the same layout id share one packed copy). A kernel
// multiplies A in one native signedness (`aSign`): u8 for x86 (VPDPBUSD, or widening to s16),
// s8 for NEON's SDOT. The dispatch layer flips A's top bit when the caller's type differs
// (a ^ 0x80 = a ± 128) and folds the offset into `colOffset`, so every kernel computes only
//
//     C[i][j] = Σ_p A[i][p] · B[j][p] + colOffset[j]        (colOffset may be null)
//
// in wrapping 32-bit arithmetic. Exact for k ≤ kMaxK: |Σ a·b| ≤ 255·128·65536 < 2³¹.
// No kernel may use a saturating instruction (VPMADDUBSW) on this path.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sparq {

constexpr int kMaxK = 65536;

enum class ASign : uint8_t { u8, s8 };

struct Int8GemmKernel {
  const char* name;      // e.g. "gemm_u8s8s32__avx512vnni"
  ASign aSign;           // signedness the kernel reads A in
  int layout;            // packed-layout id; see layouts below
  int panelRows;         // n ranges handed to `run` start at a multiple of this
  size_t (*packedBytes)(int n, int k);
  void (*pack)(const int8_t* b, int n, int k, uint8_t* packed);
  // Rows [0, m) of A (stride lda bytes) against B rows [n0, n1); C row i starts at c + i·ldc.
  void (*run)(const uint8_t* a, size_t lda, const uint8_t* packed, int n, int k, int m, int n0, int n1,
              const int32_t* colOffset, int32_t* c, size_t ldc);
};

// Packed-layout ids. A new layout gets a new id; two kernels share an id only if they read
// byte-identical packed buffers.
enum Int8Layout : int {
  kLayoutRows = 0,          // B as given: n rows of k bytes (scalar)
  kLayoutX86Vnni = 1,
  kLayoutX86S16 = 2,
  kLayoutArmS16 = 3,
  kLayoutArmDot = 4,
  kLayoutArmI8mm = 5,
};

// One declaration per kernel; each is defined in its own source file and only on the
// architecture (and built tiers) it belongs to.
extern const Int8GemmKernel gemm_int8__scalar;
extern const Int8GemmKernel gemm_u8s8s32__avx2;
extern const Int8GemmKernel gemm_u8s8s32__avx512;
extern const Int8GemmKernel gemm_u8s8s32__avx512vnni;
extern const Int8GemmKernel gemm_s8s8s32__neon;
extern const Int8GemmKernel gemm_s8s8s32__neondot;
extern const Int8GemmKernel gemm_s8s8s32__i8mm;

}  // namespace sparq
