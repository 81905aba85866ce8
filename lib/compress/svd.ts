/**
 * Truncated SVD for low-rank factorization, W [n×k] ≈ Uᵣ·diag(σ)·Vᵣᵀ:
 *
 *   randomizedSvd   Halko, Martinsson & Tropp (2011): a Gaussian sketch Y = W·Ω of l = rank +
 *                   oversample columns, q power iterations (W·Wᵀ)^q·Y re-orthonormalized after
 *                   every product, then the small l×k matrix B = QᵀW factored exactly. The
 *                   products with W run on sparq's f32 GEMM; everything else is f64.
 *   jacobiSvd       the exact dense SVD of a small matrix: one-sided Jacobi (Hestenes), rotating
 *                   pairs of columns until every pair is orthogonal to 1e-15 of their norms;
 *                   accurate to a few ulps of σ₁ in every singular value.
 *
 * Vectors are stored as rows (a matrix of r vectors of length n is r×n, row-major), so the
 * inner loops walk contiguous memory.
 */
import { gemmF32 } from '../dense';
import { seededRandom } from '../eval/random';
import { fail } from '../validate';

export interface Svd {
  /** Left singular vectors as rows: r×n (row c is column c of U). */
  ut: Float64Array;
  /** Singular values, descending: r. */
  s: Float64Array;
  /** Right singular vectors as rows: r×k (row c is column c of V). */
  vt: Float64Array;
  rank: number;
}

/** Σᵢ a[ao+i]·b[bo+i] over len terms. */
function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[ao + i]! * b[bo + i]!;
  return s;
}

/**
 * Orthonormalizes the `count` rows (each `len` long) in place by modified Gram–Schmidt, run twice
 * so the result is orthogonal to working precision. Returns R (count×count, upper triangular) with
 * original row j = Σᵢ R[i][j]·qᵢ. A row that is (numerically) in the span of the earlier ones
 * becomes 0, and so does its diagonal entry.
 */
export function orthonormalizeRows(rows: Float64Array, count: number, len: number): Float64Array {
  const r = new Float64Array(count * count);
  for (let j = 0; j < count; j++) {
    const jo = j * len;
    const before = Math.sqrt(dot(rows, jo, rows, jo, len));
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const io = i * len;
        const c = dot(rows, io, rows, jo, len);
        r[i * count + j] = r[i * count + j]! + c;
        for (let p = 0; p < len; p++) rows[jo + p] = rows[jo + p]! - c * rows[io + p]!;
      }
    }
    const norm = Math.sqrt(dot(rows, jo, rows, jo, len));
    if (norm <= 1e-13 * before || norm === 0) {
      rows.fill(0, jo, jo + len);
      continue;
    }
    r[j * count + j] = norm;
    for (let p = 0; p < len; p++) rows[jo + p] = rows[jo + p]! / norm;
  }
  return r;
}

/**
 * The exact SVD of A [m×n] given as its columns (at: n×m, row c = column c), m ≥ n is not required.
 * Returns U's columns as rows (n×m), σ descending and V's columns as rows (n×n).
 */
export function jacobiSvd(at: Float64Array, m: number, n: number): Svd {
  const a = at.slice();
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const norms = new Float64Array(n);
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    // Squared column norms, fresh each sweep and updated exactly by each rotation within it.
    for (let c = 0; c < n; c++) norms[c] = dot(a, c * m, a, c * m, m);
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const po = p * m, qo = q * m;
        const alpha = norms[p]!, beta = norms[q]!, gamma = dot(a, po, a, qo, m);
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // The rotation that zeroes the pair's inner product (Rutishauser's stable form).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        norms[p] = alpha - t * gamma;
        norms[q] = beta + t * gamma;
        for (let i = 0; i < m; i++) {
          const x = a[po + i]!, y = a[qo + i]!;
          a[po + i] = c * x - s * y;
          a[qo + i] = s * x + c * y;
        }
        for (let i = 0; i < n; i++) {
          const x = v[p * n + i]!, y = v[q * n + i]!;
          v[p * n + i] = c * x - s * y;
          v[q * n + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = Float64Array.from({ length: n }, (_, c) => Math.sqrt(dot(a, c * m, a, c * m, m)));
  const order = Array.from({ length: n }, (_, c) => c).sort((x, y) => sigma[y]! - sigma[x]! || x - y);
  const ut = new Float64Array(n * m), vt = new Float64Array(n * n), s = new Float64Array(n);
  order.forEach((c, to) => {
    s[to] = sigma[c]!;
    if (sigma[c]! > 0) for (let i = 0; i < m; i++) ut[to * m + i] = a[c * m + i]! / sigma[c]!;
    vt.set(v.subarray(c * n, c * n + n), to * n);
  });
  return { ut, s, vt, rank: n };
}

export interface RandomizedSvdOptions {
  /** Extra sketch columns beyond the rank (default 10). */
  oversample?: number;
  /** Power iterations (default 2): each sharpens the sketch toward the top singular vectors. */
  powerIterations?: number;
  /** Seed of the Gaussian sketch (default 1). */
  seed?: number;
}

/** Standard normal f32 values (Box–Muller over mulberry32). */
function gaussian(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random())), t = 2 * Math.PI * random();
    out[i] = r * Math.cos(t);
    if (i + 1 < count) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** The rows×cols row-major f32 matrix transposed into f64 (its columns as rows). */
function columnsOf(y: Float32Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = y[i * cols + j]!;
  return t;
}

/**
 * The leading `rank` singular triplets of W [n×k] (f32, row-major), by a randomized range finder.
 * Exact (to rounding) when rank + oversample ≥ min(n, k): the sketch then spans W's whole range.
 */
export function randomizedSvd(w: Float32Array, n: number, k: number, rank: number, opts: RandomizedSvdOptions = {}): Svd {
  const fn = 'randomizedSvd';
  const { oversample = 10, powerIterations = 2, seed = 1 } = opts;
  if (!Number.isInteger(rank) || rank < 1 || rank > Math.min(n, k)) fail('range', fn, 'rank', `an integer in [1, ${Math.min(n, k)}] (min(n, k))`, rank);
  if (!Number.isInteger(oversample) || oversample < 0) fail('range', fn, 'options.oversample', 'an integer ≥ 0', oversample);
  if (!Number.isInteger(powerIterations) || powerIterations < 0 || powerIterations > 20) fail('range', fn, 'options.powerIterations', 'an integer in [0, 20]', powerIterations);
  const l = Math.min(rank + oversample, n, k);
  // Q: an orthonormal basis of the sketch's columns, held as l rows of length n.
  let q = columnsOf(gemmF32(w, gaussian(k * l, seed), n, l, k), n, l);
  orthonormalizeRows(q, l, n);
  for (let it = 0; it < powerIterations; it++) {
    // Z = WᵀQ: its columns are the rows of QᵀW; orthonormalize them, then Y = W·Z.
    const z = Float64Array.from(gemmF32(Float32Array.from(q), w, l, k, n));
    orthonormalizeRows(z, l, k);
    q = columnsOf(gemmF32(w, Float32Array.from(z), n, l, k, { transB: true }), n, l);
    orthonormalizeRows(q, l, n);
  }
  // B = QᵀW [l×k]. Bᵀ = Q₂R (its columns are B's rows), R = Uᵣ·S·Vᵣᵀ exactly, so
  // W ≈ Q·B = (Q·Vᵣ)·S·(Q₂·Uᵣ)ᵀ.
  const b = Float64Array.from(gemmF32(Float32Array.from(q), w, l, k, n));
  const r = orthonormalizeRows(b, l, k);
  const rCols = new Float64Array(l * l);
  for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) rCols[j * l + i] = r[i * l + j]!;
  const exact = jacobiSvd(rCols, l, l);
  const keep = Math.min(rank, l);
  const ut = new Float64Array(keep * n), vt = new Float64Array(keep * k);
  for (let c = 0; c < keep; c++) {
    // U's column c = Q·(V_R's column c); V's column c = Q₂·(U_R's column c).
    for (let i = 0; i < l; i++) {
      const vr = exact.vt[c * l + i]!, ur = exact.ut[c * l + i]!;
      if (vr !== 0) for (let p = 0; p < n; p++) ut[c * n + p] = ut[c * n + p]! + vr * q[i * n + p]!;
      if (ur !== 0) for (let p = 0; p < k; p++) vt[c * k + p] = vt[c * k + p]! + ur * b[i * k + p]!;
    }
  }
  return { ut, s: exact.s.slice(0, keep), vt, rank: keep };
}
