// Dense f32 GEMM, AVX-512F: one zmm per 16-wide panel. GEMM tiles of up to 12 rows × 2 panels
// (24 accumulators, 12 broadcasts + 2 loads per 24 FMAs); GEMV tiles of m ≤ 4 rows × up to 8
// panels. Edges use 16-lane k-masks. Loops, layout and numerics: gemm_f32_x86.h.
#include "gemm_f32_x86.h"

namespace sparq {
namespace {

struct Zmm {
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr int kPerPanel = 1;
  static constexpr int kRows = 12;
  static constexpr int kPanels = 2;
  static constexpr int kMaxAccumulators = 24;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Mask mask(int lanes) { return lanes <= 0 ? Mask(0) : lanes >= kLanes ? Mask(0xffff) : Mask((1u << lanes) - 1u); }
  static Reg maskLoad(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void maskStore(float* p, Mask m, Reg v) { _mm512_mask_storeu_ps(p, m, v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
};

}  // namespace

const F32GemmKernels gemmF32__avx512 = {"avx512", gf32::gemm<Zmm>};

}  // namespace sparq
