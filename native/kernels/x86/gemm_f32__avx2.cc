// Dense f32 GEMM, AVX2 + FMA: two ymm per 16-wide panel. GEMM tiles of up to 6 rows × 1 panel
// (12 accumulators, 6 broadcasts + 2 loads per 12 FMAs); GEMV tiles of m ≤ 4 rows × up to 6
// panels. Edges use vmaskmov lane masks. Loops, layout and numerics: gemm_f32_x86.h.
#include "gemm_f32_x86.h"

namespace sparq {
namespace {

struct Ymm {
  using Reg = __m256;
  using Mask = __m256i;
  static constexpr int kLanes = 8;
  static constexpr int kPerPanel = 2;
  static constexpr int kRows = 6;
  static constexpr int kPanels = 1;
  static constexpr int kMaxAccumulators = 12;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  // Lane j is on when j < lanes.
  static Mask mask(int lanes) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static Reg maskLoad(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void maskStore(float* p, Mask m, Reg v) { _mm256_maskstore_ps(p, m, v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
};

}  // namespace

const F32GemmKernels gemmF32__avx2 = {"avx2", gf32::gemm<Ymm>};

}  // namespace sparq
