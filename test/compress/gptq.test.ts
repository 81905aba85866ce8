/**
 * GPTQ into ggml blocks: with an identity Hessian it is round-to-nearest against each block's stored
 * scales; its bytes are valid blocks that sparq's dequantizer reads back to exactly the weights it
 * reports; on correlated calibration data it never reconstructs worse than ggml's round-to-nearest.
 */
import { describe, expect, it } from 'vitest';
import type { LayerCalibration } from '../../lib/compress/calibrate';
import { emptyStats } from '../../lib/compress/ranges';
import { gptqQuantize, type GptqFormat } from '../../lib/compress/gptq';
import { LinearInt8, quantizeLinearInt8 } from '../../lib/gemm';
import { reconstructionError } from '../../lib/compress/prune';
import { quantize, QuantizedMatrix } from '../../lib/quant';
import { f16ToF32, f32ToF16 } from '../../lib/reference/f16';
import { expectSameFloats, randomFloats } from '../helpers';

const [n, k] = [16, 64];
const w = randomFloats(n * k, 5, 0.7).map((v, i) => v + i * 1e-6);
const FORMATS = ['q8_0', 'q4_0', 'q4_1'] as const;

function calibrationOf(gram: Float64Array): LayerCalibration {
  return { name: 'test', n, k, rows: 1, sumSquares: Float64Array.from({ length: k }, (_, j) => gram[j * k + j]!), gram, activations: emptyStats() };
}

const identity = calibrationOf(Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0)));
const correlated = (() => {
  const rows = 300, x = randomFloats(rows * k, 6);
  for (let r = 0; r < rows; r++) for (let j = 1; j < k; j++) x[r * k + j] = 0.7 * x[r * k + j - 1]! + x[r * k + j]!;
  const gram = new Float64Array(k * k);
  for (let r = 0; r < rows; r++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) gram[a * k + b] = gram[a * k + b]! + x[r * k + a]! * x[r * k + b]!;
  return calibrationOf(gram);
})();

/** Round-to-nearest of each weight against its block's scales as GPTQ stores them (f16 first). */
function roundToNearest(format: (typeof FORMATS)[number]): Float32Array {
  const out = new Float32Array(n * k), f16 = (v: number) => f16ToF32(f32ToF16(v)) as number;
  for (let b = 0; b < (n * k) / 32; b++) {
    const x = w.subarray(b * 32, (b + 1) * 32);
    const lo = Math.min(...x), hi = Math.max(...x);
    const extreme = [...x].reduce((e, v) => (Math.abs(v) > Math.abs(e) ? v : e), 0);
    const d = f16(format === 'q8_0' ? Math.fround(Math.max(...x.map(Math.abs)) / 127) : format === 'q4_0' ? Math.fround(extreme / -8) : Math.fround(Math.fround(hi - lo) / 15));
    const m = f16(lo);
    x.forEach((v, t) => {
      const q = format === 'q8_0' ? Math.round(v / d) + 0 : format === 'q4_0' ? Math.min(15, Math.max(0, Math.round(v / d) + 8)) : Math.min(15, Math.max(0, Math.round((v - m) / d)));
      out[b * 32 + t] = format === 'q8_0' ? Math.fround(q * d) : format === 'q4_0' ? Math.fround((q - 8) * d) : Math.fround(Math.fround(q * d) + m);
    });
  }
  return out;
}

describe('gptqQuantize', () => {
  it.each(FORMATS)('%s: an identity Hessian gives round-to-nearest; the bytes decode to what it reports', (format) => {
    const g = gptqQuantize(w, n, k, { format, calibration: identity });
    expectSameFloats(g.dequantized, roundToNearest(format), { format });
    expect(g.bytes.length).toBe(((n * k) / 32) * { q8_0: 34, q4_0: 18, q4_1: 20 }[format]);
    expectSameFloats(QuantizedMatrix.fromBytes(format, n, k, g.bytes).dequantize(), g.dequantized, { format });
  });

  it.each(FORMATS)('%s: on correlated data it reconstructs no worse than ggml round-to-nearest; deterministic', (format) => {
    const g = gptqQuantize(w, n, k, { format, calibration: correlated });
    const rtn = quantize(w, n, k, format).dequantize();
    expect(reconstructionError(w, g.dequantized, n, k, correlated)).toBeLessThanOrEqual(reconstructionError(w, rtn, n, k, correlated));
    expect(gptqQuantize(w, n, k, { format, calibration: correlated }).bytes).toEqual(g.bytes);
    expectSameFloats(QuantizedMatrix.fromBytes(format, n, k, g.bytes).dequantize(), g.dequantized, { format });
  });

  it.each([
    ['an unknown format', { format: 'q5_0', calibration: identity }, RangeError, /format: 'q8_0', 'q4_0', 'q4_1', 'int8-block', 'nf4', 'int8'/],
    ['a block size for a ggml format', { format: 'q4_0', calibration: identity, blockSize: 64 }, RangeError, /blockSize: no blockSize for q4_0/],
    ['a block size that is not a power of two', { format: 'nf4', calibration: identity, blockSize: 48 }, RangeError, /blockSize: a power of two in \[32, 4096\]/],
    ['an int8 block under 64', { format: 'int8-block', calibration: identity, blockSize: 32 }, RangeError, /blockSize: an integer in \[64, 4096\]/],
    ['no calibration', { format: 'q4_0' }, TypeError, /calibration: this layer's calibration/],
    ['another layer\'s calibration', { format: 'q4_0', calibration: { ...identity, n: 8 } }, RangeError, /a calibration of a 16×64 layer, received string "8×64"/],
    ['no Gram matrix', { format: 'q4_0', calibration: { ...identity, gram: null } }, RangeError, /a Gram matrix/],
    ['a bad damp', { format: 'q4_0', calibration: identity, damp: 0 }, RangeError, /damp: a finite number > 0/],
  ] as const)('refuses %s', (_, opts, error, message) => {
    expect(() => gptqQuantize(w, n, k, opts as never)).toThrow(error);
    expect(() => gptqQuantize(w, n, k, opts as never)).toThrow(message);
  });

  it('refuses k that is not whole blocks, and non-finite weights', () => {
    expect(() => gptqQuantize(w.subarray(0, 16 * 48), 16, 48, { format: 'q4_0', calibration: identity })).toThrow(/k: a multiple of 32/);
    const bad = w.slice();
    bad[7] = NaN;
    expect(() => gptqQuantize(bad, n, k, { format: 'q4_0', calibration: identity })).toThrow(/w\[7\]: a finite value/);
  });
});

describe('gptqQuantize into int8-block, nf4 and per-channel int8', () => {
  /** The form's own round-to-nearest quantizer: its bytes and the weights they stand for. */
  const own = (format: 'int8-block' | 'nf4' | 'int8') => {
    if (format === 'int8') {
      const { weight, scale } = quantizeLinearInt8(w, n, k).toArrays();
      return { bytes: new Uint8Array(weight.buffer), weights: Float32Array.from(weight, (q, i) => Math.fround(q * scale[Math.floor(i / k)]!)) };
    }
    const m = quantize(w, n, k, format === 'nf4' ? 'nf4' : 'int8', { blockSize: format === 'nf4' ? 32 : 64 });
    return { bytes: m.toBytes(), weights: m.dequantize() };
  };
  const options = (format: 'int8-block' | 'nf4' | 'int8') => (format === 'int8' ? {} : { blockSize: format === 'nf4' ? 32 : 64 });

  it.each(['int8-block', 'nf4', 'int8'] as const)('%s: an identity Hessian gives the form’s own quantizer, byte for byte, with or without act order', (format) => {
    for (const actOrder of [false, true]) {
      const g = gptqQuantize(w, n, k, { format, calibration: identity, actOrder, ...options(format) });
      const want = own(format);
      expect(g.bytes).toEqual(want.bytes);
      expectSameFloats(g.dequantized, want.weights, { format, actOrder });
    }
  });

  it.each(['int8-block', 'nf4', 'int8'] as GptqFormat[])('%s: no worse than round-to-nearest on correlated data; its matrix() multiplies by what it reports', (format) => {
    const g = gptqQuantize(w, n, k, { format, calibration: correlated, ...options(format as never) });
    expect(reconstructionError(w, g.dequantized, n, k, correlated)).toBeLessThanOrEqual(reconstructionError(w, own(format as never).weights, n, k, correlated));
    const m = g.matrix();
    if (m instanceof LinearInt8) {
      const { weight, scale } = m.toArrays();
      expectSameFloats(Float32Array.from(weight, (q, i) => Math.fround(q * scale[Math.floor(i / k)]!)), g.dequantized, { format });
      expect(g.scales).toEqual(scale);
    } else {
      expectSameFloats(m.dequantize(), g.dequantized, { format });
    }
    m.dispose();
  });

  it('act order is deterministic, keeps a pruning mask, and on correlated data stays no worse than round-to-nearest', () => {
    const mask = Uint8Array.from({ length: n * k }, (_, i) => (i % 4 === 1 ? 0 : 1));
    for (const format of ['q4_0', 'int8'] as const) {
      const g = gptqQuantize(w, n, k, { format, calibration: correlated, actOrder: true, mask });
      expect(gptqQuantize(w, n, k, { format, calibration: correlated, actOrder: true, mask }).bytes).toEqual(g.bytes);
      expect(g.dequantized.every((v, i) => mask[i] || v === 0)).toBe(true);
      const plain = gptqQuantize(w, n, k, { format, calibration: correlated, actOrder: true });
      const rtn = format === 'q4_0' ? quantize(w, n, k, 'q4_0').dequantize() : own('int8').weights;
      expect(reconstructionError(w, plain.dequantized, n, k, correlated)).toBeLessThanOrEqual(reconstructionError(w, rtn, n, k, correlated));
    }
  });
});
