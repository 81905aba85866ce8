/**
 * Every gradient against central finite differences in f64: the distillation losses, and the
 * backward passes of Linear (on the GEMMs, transposed-A included), ReLU, tanh, layer norm, the
 * embedding gather and mean pooling.
 */
import { describe, expect, it } from 'vitest';
import { embeddingGatherBackward, layerNormBackward, linearBackward, meanPoolBackward, reluBackward, tanhBackward } from '../../lib/train/backward';
import { cosineLoss, distillationLoss, mseLoss } from '../../lib/train/losses';
import { expectThrows, randomFloats } from '../helpers';

const H = 1e-6;

/** Central differences of f at every coordinate of θ (f64). */
function numeric(theta: Float64Array, f: (t: Float64Array) => number): Float64Array {
  return theta.map((_, i) => {
    const plus = theta.slice(), minus = theta.slice();
    plus[i] = plus[i]! + H;
    minus[i] = minus[i]! - H;
    return (f(plus) - f(minus)) / (2 * H);
  });
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]`).toBeLessThanOrEqual(tolerance * scale);
}

const f64 = (v: Float32Array) => Float64Array.from(v);

describe('losses', () => {
  const [rows, classes] = [5, 7];
  const s = f64(randomFloats(rows * classes, 1, 3)), t = f64(randomFloats(rows * classes, 2, 3));
  const labels = Int32Array.from({ length: rows }, (_, i) => (i * 3) % classes);

  it('distillation (KL at temperature T mixed with cross-entropy) has the gradient it reports', () => {
    for (const [alpha, temperature] of [[0, 1], [0, 4], [0.3, 2], [1, 2]] as const) {
      const teacher = alpha === 1 ? null : t, y = alpha === 0 ? null : labels;
      const { grad } = distillationLoss(s, teacher, y, rows, classes, { alpha, temperature });
      expectClose(grad, numeric(s, (x) => distillationLoss(x, teacher, y, rows, classes, { alpha, temperature }).loss), 1e-7, `α ${alpha} T ${temperature}`);
    }
    // The KL term vanishes when the student equals the teacher.
    expect(distillationLoss(t, t, null, rows, classes).loss).toBeCloseTo(0, 12);
  });

  it('cosine and MSE have the gradients they report', () => {
    expectClose(cosineLoss(s, t, rows, classes).grad, numeric(s, (x) => cosineLoss(x, t, rows, classes).loss), 1e-7, 'cosine');
    expectClose(mseLoss(s, t, rows, classes).grad, numeric(s, (x) => mseLoss(x, t, rows, classes).loss), 1e-7, 'mse');
    expect(cosineLoss(t.map((v) => 3 * v), t, rows, classes).loss).toBeCloseTo(0, 12);
    // f32 in, f32 gradient out.
    expect(cosineLoss(Float32Array.from(s), t, rows, classes).grad).toBeInstanceOf(Float32Array);
  });

  it('names what is wrong', () => {
    expectThrows(() => distillationLoss(s, t, null, rows, classes, { alpha: 0.5 }), RangeError, /distillationLoss: expected labels: Int32Array of 5 labels/);
    expectThrows(() => distillationLoss(s, null, labels, rows, classes, { alpha: 0.5 }), RangeError, /expected teacher: teacher logits/);
    expectThrows(() => cosineLoss(s, t.subarray(1), rows, classes), RangeError, /cosineLoss: expected teacher: Float32Array or Float64Array of length 35/);
    expectThrows(() => distillationLoss(s, t, Int32Array.of(0, 1, 2, 3, 9), rows, classes, { alpha: 1 }), RangeError, /expected labels\[4\]: a class in \[0, 7\)/);
  });
});

describe('backward passes', () => {
  it('Linear: dX = dY·W, dW = dYᵀ·X (transposed-A GEMM), db = Σ dY', () => {
    for (const [m, n, k] of [[1, 1, 1], [3, 5, 4], [17, 9, 33], [70, 40, 20]] as const) {
      const x = randomFloats(m * k, m), w = randomFloats(n * k, n), b = randomFloats(n, k), r = randomFloats(m * n, 7);
      // L = Σ r ⊙ (X·Wᵀ + b), in f64.
      const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) => {
        let sum = 0;
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let y = bb[j]!;
          for (let p = 0; p < k; p++) y += xx[i * k + p]! * ww[j * k + p]!;
          sum += r[i * n + j]! * y;
        }
        return sum;
      };
      const g = linearBackward(x, w, r, m, n, k);
      expectClose(g.dx!, numeric(f64(x), (xx) => loss(xx, f64(w), f64(b))), 1e-5, `dx ${m}×${n}×${k}`);
      expectClose(g.dw, numeric(f64(w), (ww) => loss(f64(x), ww, f64(b))), 1e-5, `dw ${m}×${n}×${k}`);
      expectClose(g.db, numeric(f64(b), (bb) => loss(f64(x), f64(w), bb)), 1e-5, `db ${m}×${n}×${k}`);
      expect(linearBackward(x, w, r, m, n, k, { inputGrad: false }).dx).toBeNull();
    }
  });

  it('ReLU, tanh, layer norm, embedding gather and mean pooling', () => {
    const x = randomFloats(24, 3, 2), r = randomFloats(24, 4);
    const weighted = (f: (v: Float64Array) => Float64Array) => (v: Float64Array) => f(v).reduce((s, y, i) => s + y * r[i]!, 0);
    expectClose(reluBackward(x, r), numeric(f64(x), weighted((v) => v.map((u) => Math.max(u, 0)))), 1e-6, 'relu');
    const y = Float32Array.from(x, Math.tanh);
    expectClose(tanhBackward(y, r), numeric(f64(x), weighted((v) => v.map(Math.tanh))), 1e-6, 'tanh');

    const [rows, d, eps] = [4, 6, 1e-3];
    const gamma = randomFloats(d, 5), beta = randomFloats(d, 6);
    const norm = (v: Float64Array, g: ArrayLike<number>, bt: ArrayLike<number>) => {
      const out = new Float64Array(rows * d);
      for (let i = 0; i < rows; i++) {
        const row = v.subarray(i * d, (i + 1) * d);
        const mean = row.reduce((a, c) => a + c, 0) / d, variance = row.reduce((a, c) => a + (c - mean) ** 2, 0) / d;
        for (let j = 0; j < d; j++) out[i * d + j] = (g[j]! * (row[j]! - mean)) / Math.sqrt(variance + eps) + bt[j]!;
      }
      return out;
    };
    const ln = layerNormBackward(x, gamma, r, rows, d, eps);
    expectClose(ln.dx, numeric(f64(x), weighted((v) => norm(v, gamma, beta))), 1e-6, 'layerNorm dx');
    expectClose(ln.dgamma, numeric(f64(gamma), (g) => norm(f64(x), g, beta).reduce((s, v, i) => s + v * r[i]!, 0)), 1e-6, 'layerNorm dγ');
    expectClose(ln.dbeta, numeric(f64(beta), (bt) => norm(f64(x), gamma, bt).reduce((s, v, i) => s + v * r[i]!, 0)), 1e-6, 'layerNorm dβ');

    const table = randomFloats(5 * 4, 8), ids = Int32Array.of(3, 0, 3, 4, 1, 3);
    const dy = randomFloats(ids.length * 4, 9);
    const gather = (t: Float64Array) => Array.from(ids).reduce((s, id, row) => s + [0, 1, 2, 3].reduce((a, j) => a + t[id * 4 + j]! * dy[row * 4 + j]!, 0), 0);
    expectClose(embeddingGatherBackward(ids, dy, 5, 4), numeric(f64(table), gather), 1e-6, 'gather');

    const lengths = Int32Array.of(2, 1, 3), pooledGrad = randomFloats(3 * 4, 10), rowsX = randomFloats(6 * 4, 11);
    const pool = (v: Float64Array) => {
      let s = 0, row = 0;
      lengths.forEach((length, i) => {
        for (let t = 0; t < length; t++, row++) for (let j = 0; j < 4; j++) s += (v[row * 4 + j]! / length) * pooledGrad[i * 4 + j]!;
      });
      return s;
    };
    expectClose(meanPoolBackward(pooledGrad, lengths, 4), numeric(f64(rowsX), pool), 1e-6, 'meanPool');
    expectThrows(() => embeddingGatherBackward(Int32Array.of(5), new Float32Array(4), 5, 4), RangeError, /expected ids\[0\]: a row in \[0, 5\)/);
    expectThrows(() => linearBackward(new Float32Array(6), new Float32Array(6), new Float32Array(3), 2, 2, 3), RangeError, /^linearBackward: expected dy: Float32Array of length ≥ 4 \(m·n\), received Float32Array of length 3$/);
    expectThrows(() => layerNormBackward(new Float32Array(6), new Float32Array(2), new Float32Array(6), 2, 3, 1e-5), RangeError, /^layerNormBackward: expected gamma: Float32Array of length 3 \(d\)/);
    expectThrows(() => reluBackward(new Float32Array(3), new Float32Array(2)), RangeError, /^reluBackward: expected dy: length 3 \(x's\), received number 2$/);
  });
});
