// The clustered decode and matmul, 4 lanes (sparq/cluster.h, native/kernels/cluster_impl.h).
//
// Decode, 16 indices a step. Extraction: 4-bit indices split from 8 bytes with AND / shift and
// interleaved (ZIP), 8-bit ones are the bytes, 2-bit ones shifted out of 4 bytes; other widths are
// read one by one. Lookup for up to 16 entries with TBL over the codebook's 64 bytes held in four
// registers: each index becomes the byte offsets 4i…4i+3 of its float. Larger codebooks are read
// from L1 one value at a time. Exact: the values are the codebook's own floats.
#include <arm_neon.h>

#include "../cluster_impl.h"

namespace sparq {
namespace {

struct Neon {
  using T = float32x4_t;
  static constexpr int W = 4;
  static T zero() { return vdupq_n_f32(0.0f); }
  static T load(const float* p) { return vld1q_f32(p); }
  static T fma(T a, T b, T acc) { return vfmaq_f32(acc, a, b); }
  static float sum(T a) { return vaddvq_f32(a); }
};

// 16 indices starting at index q (a multiple of 16) of the row.
inline uint8x16_t indices16(const uint8_t* row, int bits, size_t q) {
  const uint8_t* src = row + q / 8 * size_t(bits);
  if (bits == 8) return vld1q_u8(src);
  if (bits == 4) {
    const uint8x8_t b = vld1_u8(src);
    const uint8x8x2_t z = vzip_u8(vand_u8(b, vdup_n_u8(0x0f)), vshr_n_u8(b, 4));
    return vcombine_u8(z.val[0], z.val[1]);
  }
  alignas(16) uint8_t idx[16];
  for (int i = 0; i < 16; i++) idx[i] = uint8_t(clusterIndex(row, bits, q + size_t(i)));
  return vld1q_u8(idx);
}

void decodeNeon(const uint8_t* row, int bits, const float* codebook, size_t p0, size_t count, float* out) {
  const int entries = 1 << bits;
  const size_t full = count / 16 * 16;
  if (entries <= 16) {
    alignas(16) float table[16] = {};
    std::memcpy(table, codebook, sizeof(float) * size_t(entries));
    const uint8x16x4_t bytes = {{vld1q_u8(reinterpret_cast<const uint8_t*>(table)), vld1q_u8(reinterpret_cast<const uint8_t*>(table + 4)),
                                 vld1q_u8(reinterpret_cast<const uint8_t*>(table + 8)), vld1q_u8(reinterpret_cast<const uint8_t*>(table + 12))}};
    static const uint8_t kSpread[4][16] = {{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
                                           {4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7},
                                           {8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11},
                                           {12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15}};
    static const uint8_t kByte[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    const uint8x16_t byteOf = vld1q_u8(kByte);
    for (size_t t = 0; t < full; t += 16) {
      const uint8x16_t idx = indices16(row, bits, p0 + t);
      for (int q = 0; q < 4; q++) {
        // Index i → bytes 4i, 4i+1, 4i+2, 4i+3 of the table: its float.
        const uint8x16_t offsets = vaddq_u8(vshlq_n_u8(vqtbl1q_u8(idx, vld1q_u8(kSpread[q])), 2), byteOf);
        vst1q_u8(reinterpret_cast<uint8_t*>(out + t + 4 * size_t(q)), vqtbl4q_u8(bytes, offsets));
      }
    }
  } else {
    for (size_t t = 0; t < full; t += 16) {
      alignas(16) uint8_t idx[16];
      vst1q_u8(idx, indices16(row, bits, p0 + t));
      for (int i = 0; i < 16; i++) out[t + size_t(i)] = codebook[idx[i]];
    }
  }
  // The last < 16 indices, one by one (never reading past their bytes).
  decodeScalar(row, bits, codebook, p0 + full, count - full, out + full);
}

void matmulNeon(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  clusterMatmulRows<Neon, decodeNeon>(x, ldx, m, w, n0, n1, y, ldy);
}

}  // namespace

const ClusterKernels cluster__neon = {"neon", decodeNeon, matmulNeon};

}  // namespace sparq
