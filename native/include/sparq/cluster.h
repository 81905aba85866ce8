// Weight clustering: W [n×k] stored as b-bit indices (b = 2…8) into f32 codebooks of 2^b entries,
// one codebook per group of `groupRows` consecutive rows (groupRows = n: one for the tensor; 1:
// one per row). Plain C++, no Node-API. Rules: docs/cluster.md.
//
// Layout (also what ClusteredMatrix.toBytes writes): the codebooks, ceil(n/groupRows) × 2^b f32
// little-endian, then the indices row by row, each row ceil(k·b/8) bytes; index p of a row is the
// b bits at bit offset p·b of the row read as a little-endian bit string (bit t is bit t%8 of byte
// t/8). The padding bits after a row's last index are 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sparq {

constexpr int kClusterMinBits = 2;
constexpr int kClusterMaxBits = 8;

inline size_t clusterRowBytes(size_t k, int bits) { return (k * size_t(bits) + 7) / 8; }

struct ClusterView {
  const uint8_t* indices;
  size_t rowBytes;
  const float* codebooks;
  int bits;
  int groupRows;
  int n;
  size_t k;
  const uint8_t* row(int j) const { return indices + size_t(j) * rowBytes; }
  const float* codebook(int j) const { return codebooks + (size_t(j / groupRows) << bits); }
};

// out[t] = codebook[index p0 + t of the row] for t in [0, count); p0 is a multiple of 16, and
// p0 + count ≤ the row's length. A full step may load up to 16 bytes from where its indices start,
// past the row's end on its last one: rows live in a ClusteredMatrix, whose 64 bytes of slack cover it.
using ClusterDecodeFn = void (*)(const uint8_t* row, int bits, const float* codebook, size_t p0, size_t count, float* out);
// y[i·ldy + j] = Σ_p W[j][p]·x[i·ldx + p] for i in [0, m), j in [n0, n1). No bias. The sum's order
// is the tier's own (a float reduction, DESIGN.md §3's bound); W's values are exactly the codebooks'.
using ClusterMatmulFn = void (*)(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y,
                                 size_t ldy);

struct ClusterKernels {
  const char* tier;
  ClusterDecodeFn decode;
  ClusterMatmulFn matmul;
};

extern const ClusterKernels cluster__scalar;
extern const ClusterKernels cluster__avx2;
extern const ClusterKernels cluster__avx512;
extern const ClusterKernels cluster__neon;

const ClusterKernels& clusterKernels();
// "<op>_clustered__<tier>" of the kernel that ran last ("" before any), e.g. "matmul_clustered__avx512".
std::string lastClusterKernel();

// A clustered matrix in native-owned memory, immutable once built (64-byte aligned, with 64 zero
// bytes of slack after the indices so vector loads of a row's last bytes stay inside).
class ClusteredMatrix {
 public:
  ClusteredMatrix(int n, size_t k, int bits, int groupRows);
  int n() const { return n_; }
  size_t k() const { return k_; }
  int bits() const { return bits_; }
  int groupRows() const { return groupRows_; }
  int groups() const { return (n_ + groupRows_ - 1) / groupRows_; }
  size_t rowBytes() const { return clusterRowBytes(k_, bits_); }
  size_t codebookBytes() const { return size_t(groups()) * (size_t(1) << bits_) * sizeof(float); }
  size_t indexBytes() const { return size_t(n_) * rowBytes(); }
  size_t bytes() const { return codebookBytes() + indexBytes(); }
  float* codebooks() { return codebooks_.get(); }
  const float* codebooks() const { return codebooks_.get(); }
  uint8_t* indices() { return indices_.get(); }
  const uint8_t* indices() const { return indices_.get(); }
  ClusterView view() const { return {indices(), rowBytes(), codebooks(), bits_, groupRows_, n_, k_}; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  int n_;
  size_t k_;
  int bits_, groupRows_;
  std::unique_ptr<float, Free> codebooks_;
  std::unique_ptr<uint8_t, Free> indices_;
};

// Index bytes whose padding bits are not all 0: the first row that has some, or −1.
int64_t clusterBadPadding(const ClusteredMatrix& w);
// W [n×k] in f32: every index looked up in its row's codebook.
void clusterDecode(const ClusteredMatrix& w, float* out);
// Y[m×n] = X[m×k]·Wᵀ (+ bias: y = sum, then + bias). m ≥ 0.
void matmulClustered(const float* x, int m, const ClusteredMatrix& w, const float* bias, float* y);
// Nearest centroid of each value: codes[i] = #{ j < entries − 1 : mid_j < v[i] } with
// mid_j = (c_j + c_{j+1})·0.5 in f32 and the centroids ascending (ties go to the lower one).
void clusterAssign(const float* v, size_t count, const float* centroids, int entries, uint8_t* codes);

}  // namespace sparq
