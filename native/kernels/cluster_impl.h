// The clustered matmul (contract: sparq/cluster.h), written once over a vector type V and a
// tier's decode, compiled per tier: cluster__scalar.cc (V = one float), cluster__avx2.cc (8),
// cluster__avx512.cc (16), cluster__neon.cc (4).
//
// Four weight rows at a time are decoded whole into thread-local scratch (4·k floats: L1 or L2),
// then every activation row meets them in a register tile of up to 4 × 4 accumulators of W lanes;
// the k % W tail is summed in scalar. Lanes are added at the end, so the order of a sum differs
// from the scalar kernel's by tier: DESIGN.md §3's reduction bound, which the tests use.
//
// V provides: T, W (lanes), zero(), load(const float*), fma(a, b, acc) = acc + a·b, sum(T).
// Internal linkage on purpose (see ops_impl.h): each tier compiles its own copy.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sparq/cluster.h"
#include "sparq/scratch.h"

namespace sparq {
namespace {

// Index p of a row (b bits at bit p·b), read byte by byte: never touches a byte past the index's own.
inline uint32_t clusterIndex(const uint8_t* row, int bits, size_t p) {
  const size_t bit = p * size_t(bits), byte = bit >> 3;
  const unsigned shift = unsigned(bit & 7);
  uint32_t v = row[byte];
  if (shift + unsigned(bits) > 8) v |= uint32_t(row[byte + 1]) << 8;
  return (v >> shift) & ((1u << bits) - 1u);
}

inline void decodeScalar(const uint8_t* row, int bits, const float* codebook, size_t p0, size_t count, float* out) {
  for (size_t t = 0; t < count; t++) out[t] = codebook[clusterIndex(row, bits, p0 + t)];
}

template <class V, int MI>
void clusterTile(const float* x, size_t ldx, const float* wbuf, size_t stride, size_t k, float* y, size_t ldy, int rows) {
  typename V::T acc[MI][4];
  for (int i = 0; i < MI; i++)
    for (int r = 0; r < 4; r++) acc[i][r] = V::zero();
  const size_t full = k / V::W * V::W;
  for (size_t p = 0; p < full; p += V::W) {
    typename V::T wv[4];
    for (int r = 0; r < 4; r++) wv[r] = V::load(wbuf + r * stride + p);
    for (int i = 0; i < MI; i++) {
      const typename V::T xv = V::load(x + i * ldx + p);
      for (int r = 0; r < 4; r++) acc[i][r] = V::fma(xv, wv[r], acc[i][r]);
    }
  }
  for (int i = 0; i < MI; i++) {
    for (int r = 0; r < rows; r++) {
      float s = V::sum(acc[i][r]);
      for (size_t p = full; p < k; p++) s = std::fma(x[i * ldx + p], wbuf[r * stride + p], s);
      y[i * ldy + r] = s;
    }
  }
}

template <class V, ClusterDecodeFn Decode>
void clusterMatmulRows(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  thread_local Scratch scratch;
  const size_t stride = (w.k + 15) / 16 * 16;
  float* wbuf = static_cast<float*>(scratch.get(4 * stride * sizeof(float)));
  for (int j0 = n0; j0 < n1; j0 += 4) {
    const int rows = std::min(4, n1 - j0);
    for (int r = 0; r < 4; r++) {
      if (r < rows) Decode(w.row(j0 + r), w.bits, w.codebook(j0 + r), 0, w.k, wbuf + r * stride);
      else std::memset(wbuf + r * stride, 0, w.k * sizeof(float));
    }
    int i = 0;
    for (; i + 4 <= m; i += 4) clusterTile<V, 4>(x + size_t(i) * ldx, ldx, wbuf, stride, w.k, y + size_t(i) * ldy + j0, ldy, rows);
    const float* xt = x + size_t(i) * ldx;
    float* yt = y + size_t(i) * ldy + j0;
    switch (m - i) {
      case 3: clusterTile<V, 3>(xt, ldx, wbuf, stride, w.k, yt, ldy, rows); break;
      case 2: clusterTile<V, 2>(xt, ldx, wbuf, stride, w.k, yt, ldy, rows); break;
      case 1: clusterTile<V, 1>(xt, ldx, wbuf, stride, w.k, yt, ldy, rows); break;
      default: break;
    }
  }
}

}  // namespace
}  // namespace sparq
