/**
 * Linear over every weight form: built from f32 weights or wrapping a matrix, its forward equals
 * the form's own reference (bit for bit where the form is exact, within the form's bound where it
 * sums floats), forwardAsync and out give the same bits, effectiveWeights is the dense W the
 * reference multiplies by, byteLength is what the form stores, and bad input names Linear.
 */
import { describe, expect, it } from 'vitest';
import * as sparq from '../../lib/index';
import { Linear, LINEAR_FORMATS, totalByteLength, type LinearFormat } from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { expectSameFloats, expectThrows, expectWithinBound, randomFloats } from '../helpers';

const n = 24, k = 96; // k: three 32-blocks of the ggml formats
const k64 = 128; // nf4 and int8-block take blocks of 64
const k256 = 512; // the K-quants take super-blocks of 256
const kOf = (format: LinearFormat) => (format === 'nf4' || format === 'int8-block' ? k64 : format.endsWith('_K') ? k256 : k);
const blockFormat: Partial<Record<LinearFormat, reference.QuantFormat>> = {
  q8_0: 'q8_0', q4_0: 'q4_0', q4_1: 'q4_1', q4_K: 'q4_K', q5_K: 'q5_K', q6_K: 'q6_K', nf4: 'nf4', 'int8-block': 'int8',
};
const THRESHOLD = 0.3; // the CSR forms keep |w| > 0.3 (about 3/4 of these weights)

/** What the reference says for each form: the effective W, Y (and its bound, 0 when exact), the stored bytes. */
function expected(format: LinearFormat, w: Float32Array, bias: Float32Array, x: Float32Array, m: number, kk: number) {
  const qf = blockFormat[format];
  if (format === 'f32') {
    return { eff: w, y: reference.linearF32(x, w, m, n, kk, bias), bound: reference.linearF32Tolerance(x, w, m, n, kk, bias), bytes: 4 * n * kk };
  }
  if (format === 'int8') {
    const { weight, scale } = reference.quantizeWeightsS8(w, n, kk);
    const eff = Float32Array.from(weight, (q, i) => q * scale[Math.floor(i / kk)]!);
    return { eff, y: reference.linearInt8(x, weight, scale, bias, m, n, kk), bound: null, bytes: n * kk + 4 * n };
  }
  if (qf) {
    const bytes = reference.quantize(w, n, kk, qf);
    const options = { bias };
    return {
      eff: reference.dequantize(bytes, n, kk, qf),
      y: reference.matmulQuantized(x, bytes, m, n, kk, qf, options),
      bound: reference.matmulQuantizedTolerance(x, bytes, m, n, kk, qf, options),
      bytes: bytes.length,
    };
  }
  let csr = reference.csrFromDense(w, n, kk, THRESHOLD);
  if (format === 'csr-int8') csr = reference.csrQuantizeValues(csr);
  const nnz = csr.indices.length;
  return {
    eff: reference.csrToDense(csr),
    y: reference.linearSparse(x, csr, m, bias),
    bound: reference.linearSparseTolerance(x, csr, m, bias),
    bytes: 4 * (n + 1) + nnz * 4 + (format === 'csr' ? 4 * nnz : nnz + 4 * n),
  };
}

function build(format: LinearFormat, w: Float32Array, kk: number, bias: Float32Array): Linear {
  const csr = format === 'csr' || format === 'csr-int8';
  return Linear.fromWeights(w, n, kk, { format, bias, ...(csr ? { threshold: THRESHOLD } : {}) });
}

describe.each(LINEAR_FORMATS.map((f) => [f]))('Linear %s', (format) => {
  const kk = kOf(format);
  const w = randomFloats(n * kk, 11, 0.5);
  const bias = randomFloats(n, 12, 0.25);
  const layer = build(format, w, kk, bias);

  it('has the form, shape and stored bytes of its weight (+ 4 bytes an output for the bias)', () => {
    expect([layer.format, layer.n, layer.k]).toEqual([format, n, kk]);
    const { bytes } = expected(format, w, bias, new Float32Array(kk), 1, kk);
    expect(layer.weightBytes).toBe(bytes);
    expect(layer.byteLength).toBe(bytes + 4 * n);
    expectSameFloats(layer.bias!, bias, { format });
  });

  it('effectiveWeights is the dense W the reference multiplies by', () => {
    expectSameFloats(layer.effectiveWeights(), expected(format, w, bias, new Float32Array(kk), 1, kk).eff, { format });
  });

  it.each([1, 3, 17])('forward at m = %i equals the reference (exactly, or within its bound); async and out give the same bits', async (m) => {
    const x = randomFloats(m * kk, 13 + m);
    const want = expected(format, w, bias, x, m, kk);
    const y = layer.forward(x, m);
    if (want.bound === null) expectSameFloats(y, want.y, { format, m });
    else expectWithinBound(y, want.y, want.bound, { format, m });
    expectSameFloats(await layer.forwardAsync(x, m), y, { format, m, async: true });
    const out = new Float32Array(m * n + 2).fill(7);
    expect(layer.forward(x, m, { out })).toBe(out);
    expectSameFloats(out.subarray(0, m * n), y, { format, m, out: true });
    expect([...out.subarray(m * n)]).toEqual([7, 7]);
  });

  it('m = 0 gives an empty result', async () => {
    expect(layer.forward(new Float32Array(0), 0)).toHaveLength(0);
    expect(await layer.forwardAsync(new Float32Array(0), 0)).toHaveLength(0);
  });
});

describe('Linear.wrap', () => {
  const w = randomFloats(n * k64, 21, 0.5);
  const bias = randomFloats(n, 22);
  const x = randomFloats(5 * k64, 23);

  it('runs a matrix sparq already holds, with the same results as the direct call', () => {
    const packed = sparq.packF32(w, n, k64);
    expectSameFloats(Linear.wrap(packed, { bias }).forward(x, 5), sparq.linearF32(x, packed, 5, { bias }), { wrap: 'f32' });
    const int8 = sparq.quantizeLinearInt8(w, n, k64, { bias });
    const wrappedInt8 = Linear.wrap(int8);
    expect(wrappedInt8.format).toBe('int8');
    expectSameFloats(wrappedInt8.bias!, bias, { wrap: 'int8 bias' });
    expectSameFloats(wrappedInt8.forward(x, 5), sparq.linearInt8(x, int8, 5), { wrap: 'int8' });
    const q = sparq.quantize(w, n, k64, 'nf4');
    const wrappedQ = Linear.wrap(q, { bias, precision: 'f32' });
    expect(wrappedQ.format).toBe('nf4');
    expectSameFloats(wrappedQ.forward(x, 5), sparq.matmulQuantized(x, q, 5, { bias, precision: 'f32' }), { wrap: 'nf4' });
    const csr = sparq.CsrMatrix.fromDense(w, n, k64, { threshold: 0.2 }).quantizeValues();
    const wrappedCsr = Linear.wrap(csr);
    expect([wrappedCsr.format, wrappedCsr.bias]).toEqual(['csr-int8', null]);
    expectSameFloats(wrappedCsr.forward(x, 5), sparq.linearSparse(x, csr, 5), { wrap: 'csr-int8' });
    expect(totalByteLength([wrappedInt8, wrappedQ, wrappedCsr])).toBe(wrappedInt8.byteLength + wrappedQ.byteLength + wrappedCsr.byteLength);
    wrappedCsr.dispose();
    expect(csr.disposed).toBe(true);
    // A clustered matrix: the lookup-table matmul with the layer's bias, its codebook values as weights.
    const clustered = sparq.clusterWeights(w, n, k64, { bits: 3, groupRows: 4 }).matrix;
    const wrappedClustered = Linear.wrap(clustered, { bias });
    expect([wrappedClustered.format, wrappedClustered.weightBytes]).toEqual(['clustered', clustered.byteLength]);
    expectSameFloats(wrappedClustered.effectiveWeights(), clustered.dequantize(), { wrap: 'clustered' });
    expectSameFloats(wrappedClustered.forward(x, 5), sparq.matmulClustered(x, clustered, 5, { bias }), { wrap: 'clustered' });
    wrappedClustered.dispose();
    expect(clustered.disposed).toBe(true);
  });

  it('refuses what does not fit the matrix', () => {
    const int8 = sparq.quantizeLinearInt8(w, n, k64);
    expectThrows(() => Linear.wrap(int8, { bias }), RangeError, /^Linear\.wrap: expected options\.bias: no bias for a LinearInt8 \(it holds its own\)/);
    expectThrows(() => Linear.wrap(sparq.packF32(w, n, k64), { precision: 'f32' }), RangeError, /^Linear\.wrap: expected options\.precision: no precision but for a QuantizedMatrix/);
    expectThrows(() => Linear.wrap(w as never), TypeError, /^Linear\.wrap: expected weight: a PackedF32Matrix, LinearInt8, QuantizedMatrix, CsrMatrix or ClusteredMatrix, received Float32Array/);
    expectThrows(() => Linear.wrap(sparq.packF32(w, n, k64), { bias: new Float32Array(3) }), RangeError, /^Linear\.wrap: expected options\.bias: Float32Array of length 24 \(n\)/);
  });
});

describe('Linear bad input', () => {
  const w = randomFloats(n * k, 31);

  it('fromWeights names the format, option or array that is wrong', () => {
    expectThrows(() => Linear.fromWeights(w, n, k, { format: 'q5_0' as never }), RangeError, /^Linear\.fromWeights: expected options\.format: one of f32, int8, q8_0, q4_0, q4_1, q4_K, q5_K, q6_K, nf4, int8-block, csr, csr-int8, received string "q5_0"$/);
    expectThrows(() => Linear.fromWeights(w, n, k, { format: 7 as never }), TypeError, /^Linear\.fromWeights: expected options\.format: a string, received number 7$/);
    expectThrows(() => Linear.fromWeights(w, n, k, { format: 'toString' as never }), RangeError, /expected options\.format: one of/);
    expectThrows(() => Linear.fromWeights(w, n, k, { format: 'f32', precision: 'f32' }), RangeError, /^Linear\.fromWeights: expected options\.precision: no precision for format 'f32' \(it takes none of them\)/);
    expectThrows(() => Linear.fromWeights(w, n, k, { format: 'q4_0', threshold: 0.1 }), RangeError, /^Linear\.fromWeights: expected options\.threshold: no threshold for format 'q4_0' \(it takes blockSize, precision\)/);
    expectThrows(() => Linear.fromWeights(w.subarray(1), n, k), RangeError, /^Linear\.fromWeights: expected w: Float32Array of length 2304 \(n·k\), received Float32Array of length 2303$/);
    expectThrows(() => Linear.fromWeights(w, 0, k), RangeError, /^Linear\.fromWeights: expected n: an integer in \[1, /);
    expectThrows(() => Linear.fromWeights(w, n, k, 'q4_0' as never), TypeError, /^Linear\.fromWeights: expected options: an object/);
    // The form's own builder still checks what only it knows (k must be a whole number of blocks).
    expectThrows(() => Linear.fromWeights(randomFloats(n * 48, 1), n, 48, { format: 'q4_0' }), RangeError, /^quantize: /);
  });

  it('forward names Linear.forward and the argument', async () => {
    const layer = Linear.fromWeights(w, n, k, { format: 'q8_0' });
    expectThrows(() => layer.forward(new Float32Array(k - 1), 1), RangeError, /^Linear\.forward: expected x: Float32Array of length ≥ 96 \(m·k\), received Float32Array of length 95$/);
    expectThrows(() => layer.forward(new Float32Array(k), 1.5), TypeError, /^Linear\.forward: expected m: an integer, received number 1\.5$/);
    expectThrows(() => layer.forward(new Float32Array(k), 1, { out: new Float32Array(n - 1) }), RangeError, /^Linear\.forward: expected out: Float32Array of length ≥ 24 \(m·n\)/);
    await expect(layer.forwardAsync(new Int8Array(k) as never, 1)).rejects.toThrow(/^Linear\.forwardAsync: expected x: Float32Array, received Int8Array/);
    layer.dispose();
    expectThrows(() => layer.forward(new Float32Array(k), 1), TypeError, /expected w: a QuantizedMatrix, received a disposed QuantizedMatrix/);
  });
});
