// The clustered matmul and decode, one float at a time (sparq/cluster.h, native/kernels/cluster_impl.h):
// the semantics every other tier is held to.
#include <cmath>

#include "../cluster_impl.h"

namespace sparq {
namespace {

struct One {
  using T = float;
  static constexpr int W = 1;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static T fma(T a, T b, T acc) { return std::fma(a, b, acc); }
  static float sum(T a) { return a; }
};

void matmulScalar(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  clusterMatmulRows<One, decodeScalar>(x, ldx, m, w, n0, n1, y, ldy);
}

}  // namespace

const ClusterKernels cluster__scalar = {"scalar", decodeScalar, matmulScalar};

}  // namespace sparq
