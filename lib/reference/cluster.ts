/**
 * Reference of the clustered family (native/include/sparq/cluster.h; docs/cluster.md): b-bit indices
 * packed as a little-endian bit string per row, f32 codebooks of 2^b entries, one per group of
 * rows; decode, the matmul (decode, then the dense reference), and nearest-centroid assignment.
 */
import { linearF32, linearF32Tolerance } from './dense';

/** Bytes of one row of k b-bit indices. */
export function clusterRowBytes(k: number, bits: number): number {
  return Math.ceil((k * bits) / 8);
}

/** codes [n×k] (each < 2^bits) packed row by row: index p at bit offset p·b of its row. */
export function packIndices(codes: Uint8Array, n: number, k: number, bits: number): Uint8Array {
  const rowBytes = clusterRowBytes(k, bits);
  const out = new Uint8Array(n * rowBytes);
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) {
      const code = codes[j * k + p]!, bit = p * bits;
      for (let t = 0; t < bits; t++) if ((code >> t) & 1) out[j * rowBytes + ((bit + t) >> 3)]! |= 1 << ((bit + t) & 7);
    }
  }
  return out;
}

/** The codes [n×k] of packed indices. */
export function unpackIndices(indices: Uint8Array, n: number, k: number, bits: number): Uint8Array {
  const rowBytes = clusterRowBytes(k, bits);
  const out = new Uint8Array(n * k);
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) {
      let code = 0;
      for (let t = 0; t < bits; t++) {
        const bit = p * bits + t;
        code |= ((indices[j * rowBytes + (bit >> 3)]! >> (bit & 7)) & 1) << t;
      }
      out[j * k + p] = code;
    }
  }
  return out;
}

/** W [n×k]: each row's indices looked up in its group's codebook (codebooks: groups × 2^bits). */
export function decodeClustered(indices: Uint8Array, codebooks: Float32Array, n: number, k: number, bits: number, groupRows: number): Float32Array {
  const codes = unpackIndices(indices, n, k, bits);
  const out = new Float32Array(n * k);
  for (let j = 0; j < n; j++) {
    const base = Math.floor(j / groupRows) << bits;
    for (let p = 0; p < k; p++) out[j * k + p] = codebooks[base + codes[j * k + p]!]!;
  }
  return out;
}

/** Y [m×n] = X·Wᵀ (+ bias) with W decoded: the dense reference's sums. */
export function matmulClustered(x: Float32Array, indices: Uint8Array, codebooks: Float32Array, m: number, n: number, k: number, bits: number, groupRows: number, bias?: Float32Array): Float32Array {
  return linearF32(x, decodeClustered(indices, codebooks, n, k, bits, groupRows), m, n, k, bias);
}

/** The §3 bound of each output of {@link matmulClustered}. */
export function matmulClusteredTolerance(x: Float32Array, indices: Uint8Array, codebooks: Float32Array, m: number, n: number, k: number, bits: number, groupRows: number, bias?: Float32Array): Float64Array {
  return linearF32Tolerance(x, decodeClustered(indices, codebooks, n, k, bits, groupRows), m, n, k, bias);
}

/**
 * The nearest of ascending centroids for each value: the number of midpoints (c_j + c_{j+1})·0.5
 * (in f32) below it, so a value on a midpoint goes to the lower centroid.
 */
export function clusterAssign(values: Float32Array, centroids: Float32Array): Uint8Array {
  const mids = Float32Array.from({ length: centroids.length - 1 }, (_, j) => Math.fround(Math.fround(centroids[j]! + centroids[j + 1]!) * 0.5));
  return Uint8Array.from(values, (v) => mids.filter((mid) => mid < v).length);
}
