/**
 * Reference of blockwise quantization; docs/quantization.md is the contract. f16 conversion
 * (f16.ts, re-exported here), the block formats (q8_0, q4_0, q4_1 and the K-quants as ggml; nf4
 * as bitsandbytes; int8 absmax, sparq's own), the activation quantizer of the int8 precision, and
 * the quantized matmul in its fixed reference order. The block codec itself is quant-blocks.ts
 * (K-quants: kquant*.ts). Every f32 operation is rounded with f32(); nothing is fused or reordered.
 */
import {
  blockBytes as bytesOfBlock,
  blockSize as checkedBlockSize,
  defaultBlockSize as defaultOf,
  isKQuant,
  QUANT_FORMATS,
  quantFormat,
  type QuantFormat,
} from '../formats';
import { count, fail, int, options as optionsBag, typed } from '../validate';
import { f16Value } from './f16';
import { kquantTerms } from './kquant-matmul';
import { codeAt, dequantizeBlocks, inverse, quantizeBlocks } from './quant-blocks';
import { f32, roundHalfAway } from './round';

export { f16ToF32, f16ToF32Array, f32ToF16, f32ToF16Array } from './f16';

export { QUANT_FORMATS, type QuantFormat };
export { NF4_CODES, NF4_THRESHOLDS } from './quant-blocks';

// ---------------------------------------------------------------------------------------------
// Formats and block sizes

/** 32 for the ggml formats, 64 for nf4 and int8. */
export function defaultBlockSize(format: QuantFormat): number {
  return defaultOf(checkFormat('reference.defaultBlockSize', format));
}

/** Bytes of one block: q8_0 34, q4_0 18, q4_1 20, nf4 4 + B/2, int8 4 + B. */
export function blockBytes(format: QuantFormat, blockSize?: number): number {
  const fn = 'reference.blockBytes';
  const f = checkFormat(fn, format);
  return bytesPerBlock(f, checkBlockSize(fn, f, blockSize));
}

/** One of QUANT_FORMATS: TypeError for a non-string, RangeError for an unknown name. */
export function checkFormat(fn: string, format: unknown): QuantFormat {
  return quantFormat(fn, format);
}

/**
 * The block size to use: the format's default when undefined; otherwise 32 for the ggml
 * formats, a power of two in [32, 4096] for nf4 and in [64, 4096] for int8.
 */
export function checkBlockSize(fn: string, format: QuantFormat, size: unknown): number {
  return checkedBlockSize(fn, format, size);
}

const bytesPerBlock = bytesOfBlock;

/** One row of blocks: x.length must be a multiple of the block size. */
export function quantizeRow(x: Float32Array, format: QuantFormat, blockSize?: number): Uint8Array {
  const fn = 'reference.quantizeRow';
  checkFormat(fn, format);
  const size = checkBlockSize(fn, format, blockSize);
  typed(fn, 'x', x, Float32Array, 0, 'any length');
  if (x.length % size !== 0) fail('range', fn, 'x', `a Float32Array whose length is a multiple of ${size} (blockSize)`, x);
  return quantizeBlocks(
    fn,
    'x',
    x,
    format,
    size,
    (i) => `index ${i}`,
    (b) => `block ${b} (index ${b * size})`,
  );
}

/** The k values of one row of blocks; bytes.length must be (k/blockSize)·blockBytes. */
export function dequantizeRow(bytes: Uint8Array, format: QuantFormat, k: number, blockSize?: number): Float32Array {
  const fn = 'reference.dequantizeRow';
  checkFormat(fn, format);
  const size = checkBlockSize(fn, format, blockSize);
  int(fn, 'k', k);
  if (k % size !== 0) fail('range', fn, 'k', `a multiple of ${size} (blockSize)`, k);
  typed(fn, 'bytes', bytes, Uint8Array, (k / size) * bytesPerBlock(format, size), '(k/blockSize)·blockBytes', true);
  return dequantizeBlocks(bytes, format, size, k);
}

/** W [n×k] row-major, quantized row after row (blocks run along k). */
export function quantize(w: Float32Array, n: number, k: number, format: QuantFormat, blockSize?: number): Uint8Array {
  const fn = 'reference.quantize';
  const size = checkShape(fn, n, k, format, blockSize);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  return quantizeBlocks(
    fn,
    'w',
    w,
    format,
    size,
    (i) => `index ${i} (row ${Math.floor(i / k)}, column ${i % k})`,
    (b) => `row ${Math.floor((b * size) / k)}, block ${((b * size) % k) / size} (index ${b * size})`,
  );
}

/** W [n×k] back from n rows of blocks. */
export function dequantize(bytes: Uint8Array, n: number, k: number, format: QuantFormat, blockSize?: number): Float32Array {
  const fn = 'reference.dequantize';
  const size = checkShape(fn, n, k, format, blockSize);
  const rowBytes = (k / size) * bytesPerBlock(format, size);
  typed(fn, 'bytes', bytes, Uint8Array, count(fn, 'n·rowBytes', n, rowBytes), 'n·(k/blockSize)·blockBytes', true);
  return dequantizeBlocks(bytes, format, size, n * k);
}

/** Checks n ≥ 1, k ≥ 1, the format and that the block size divides k; returns the block size. */
function checkShape(fn: string, n: number, k: number, format: QuantFormat, blockSize: unknown): number {
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  checkFormat(fn, format);
  const size = checkBlockSize(fn, format, blockSize);
  if (k % size !== 0) fail('range', fn, 'k', `a multiple of ${size} (blockSize)`, k);
  return size;
}

// ---------------------------------------------------------------------------------------------
// Quantized matmul

export interface QuantizedActivations {
  /** Codes, m·k. */
  q: Int8Array;
  /** Per 32-block scale d = amax/127, kept in f32. */
  d: Float32Array;
  /** Per 32-block exact sum of the codes. */
  s: Int32Array;
}

/** X (m rows of k, k a multiple of 32) in 32-blocks as the int8 precision does it. */
export function quantizeActivations(x: Float32Array, k: number): QuantizedActivations {
  const fn = 'reference.quantizeActivations';
  int(fn, 'k', k, 1);
  if (k % 32 !== 0) fail('range', fn, 'k', 'a multiple of 32', k);
  typed(fn, 'x', x, Float32Array, 0, 'any length');
  if (x.length % k !== 0) fail('range', fn, 'x', `a Float32Array whose length is a multiple of ${k} (k)`, x);
  return quantizeActivationBlocks(fn, x, x.length / k, k);
}

function quantizeActivationBlocks(fn: string, x: Float32Array, m: number, k: number): QuantizedActivations {
  const blocks = (m * k) / 32;
  const q = new Int8Array(m * k);
  const d = new Float32Array(blocks);
  const s = new Int32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let t = 0; t < 32; t++) {
      const i = b * 32 + t;
      if (!Number.isFinite(x[i]!)) {
        throw new RangeError(`${fn}: expected x: finite values, received ${x[i]} at index ${i} (row ${Math.floor(i / k)}, column ${i % k})`);
      }
      amax = Math.max(amax, Math.abs(x[i]!));
    }
    d[b] = f32(amax / 127);
    const id = inverse(d[b]!);
    let sum = 0;
    for (let t = 0; t < 32; t++) {
      const code = roundHalfAway(f32(x[b * 32 + t]! * id));
      q[b * 32 + t] = code;
      sum += code;
    }
    s[b] = sum;
  }
  return { q, d, s };
}

export interface MatmulQuantizedOptions {
  /** Block size of w; the format's default when omitted. */
  blockSize?: number;
  /** Added to each output, last. At least n long. */
  bias?: Float32Array;
  /** 'int8' (default, except for nf4) or 'f32' (default for nf4). */
  precision?: 'int8' | 'f32';
}

/** Y[m×n] = X[m×k]·Wᵀ (+ bias) with W [n×k] quantized: the terms of each output added in order in f32. */
export function matmulQuantized(
  x: Float32Array,
  w: Uint8Array,
  m: number,
  n: number,
  k: number,
  format: QuantFormat,
  options?: MatmulQuantizedOptions,
): Float32Array {
  const termsOf = outputTerms('reference.matmulQuantized', x, w, m, n, k, format, options);
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (const term of termsOf(i, j)) acc = f32(acc + term);
      y[i * n + j] = acc;
    }
  }
  return y;
}

/** For each output, the DESIGN.md §3 bound 2·T·2⁻²⁴·Σ|t| + T·2⁻¹⁴⁸ over the T terms matmulQuantized adds (bias included). */
export function matmulQuantizedTolerance(
  x: Float32Array,
  w: Uint8Array,
  m: number,
  n: number,
  k: number,
  format: QuantFormat,
  options?: MatmulQuantizedOptions,
): Float32Array {
  const termsOf = outputTerms('reference.matmulQuantizedTolerance', x, w, m, n, k, format, options);
  const tolerance = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const terms = termsOf(i, j);
      let sum = 0;
      for (const term of terms) sum += Math.abs(term);
      // + 2⁻¹⁴⁸ a term: products rounded into the subnormal range are off by up to 2⁻¹⁵⁰
      // absolutely, which no relative bound covers (two such roundings on either side).
      tolerance[i * n + j] = 2 * terms.length * 2 ** -24 * sum + terms.length * 2 ** -148;
    }
  }
  return tolerance;
}

/**
 * Validates a matmul and returns, for output (i, j), the terms the reference adds, in order:
 * - int8 precision, per 32-block b: f32(f32(dw·dx)·Σ qw·qx) (q4_0: qw − 8; int8: sw = f32(absmax/127)
 *   of the weight block holding b), and for q4_1 then f32(f32(mw·dx)·s); for the K-quants, the
 *   terms of kquant-matmul.ts per super-block, against q8_K activations;
 * - f32 precision, per element p: f32(w_p·x_p) with w_p dequantized;
 * - then the bias, if any.
 */
function outputTerms(
  fn: string,
  x: Float32Array,
  w: Uint8Array,
  m: number,
  n: number,
  k: number,
  format: QuantFormat,
  options: unknown,
): (i: number, j: number) => number[] {
  int(fn, 'm', m);
  const { blockSize, bias, precision = format === 'nf4' ? 'f32' : 'int8' } = optionsBag<MatmulQuantizedOptions>(fn, options);
  const size = checkShape(fn, n, k, format, blockSize);
  if (precision !== 'int8' && precision !== 'f32') {
    fail(typeof precision === 'string' ? 'range' : 'type', fn, 'precision', `'int8' or 'f32'`, precision);
  }
  if (precision === 'int8' && format === 'nf4') {
    fail('range', fn, 'precision', `'f32' for nf4 (NF4 codes are not linear, so nf4 has no int8 path)`, precision);
  }
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m, k), 'm·k');
  const blockSizeBytes = bytesPerBlock(format, size);
  const rowBytes = (k / size) * blockSizeBytes;
  typed(fn, 'w', w, Uint8Array, count(fn, 'n·rowBytes', n, rowBytes), 'n·(k/blockSize)·blockBytes', true);
  if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, n, 'n');
  const withBias = (terms: number[], j: number): number[] => {
    if (bias !== undefined) terms.push(bias[j]!);
    return terms;
  };

  if (precision === 'f32') {
    const weights = dequantizeBlocks(w, format, size, n * k);
    return (i, j) => {
      const terms: number[] = [];
      for (let p = 0; p < k; p++) terms.push(f32(weights[j * k + p]! * x[i * k + p]!));
      return withBias(terms, j);
    };
  }

  if (isKQuant(format)) {
    const termsOf = kquantTerms(fn, x, w, m, k, format);
    return (i, j) => withBias(termsOf(i, j), j);
  }
  const act = quantizeActivationBlocks(fn, x, m, k);
  const view = new DataView(w.buffer, w.byteOffset, w.byteLength);
  const blocks = k / 32;
  return (i, j) => {
    const terms: number[] = [];
    for (let b = 0; b < blocks; b++) {
      const a = i * blocks + b; // activation block
      const dx = act.d[a]!;
      // The weight block holding activation block b, and where b starts inside it.
      const at = j * rowBytes + Math.floor((b * 32) / size) * blockSizeBytes;
      const first = (b * 32) % size;
      const offset = format === 'q4_0' ? 8 : 0;
      let sumi = 0;
      for (let t = 0; t < 32; t++) sumi += (codeAt(format, w, at, first + t) - offset) * act.q[a * 32 + t]!;
      const scale = format === 'int8' ? f32(view.getFloat32(at, true) / 127) : f16Value(view.getUint16(at, true));
      terms.push(f32(f32(scale * dx) * sumi));
      if (format === 'q4_1') terms.push(f32(f32(f16Value(view.getUint16(at + 2, true)) * dx) * act.s[a]!));
    }
    return withBias(terms, j);
  };
}
