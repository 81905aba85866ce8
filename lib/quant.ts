/**
 * Blockwise quantization: ggml Q8_0/Q4_0/Q4_1, bitsandbytes NF4 and sparq's int8 absmax, with the
 * fused quantized matmul. Formats, formulas and odd-input rules: docs/quantization.md.
 * A weight W is [n×k] (out × in, PyTorch Linear); blocks run along k.
 */
import { blockBytes, blockSize, precision, quantFormat, type Precision, type QuantFormat } from './formats';
import { NativeObject } from './handle';
import { native, type QuantizedHandle } from './native';
import { copyInto, count, fail, int, options, typed } from './validate';

export interface BlockOptions {
  /** Elements per block: 32 for q8_0/q4_0/q4_1; a power of two 32…4096 for nf4, 64…4096 for int8. Default 32, or 64 for nf4 and int8. */
  blockSize?: number;
}

/** A quantized weight [n×k] in native-owned memory that JS cannot mutate. Made by {@link quantize} or {@link QuantizedMatrix.fromBytes}. */
export class QuantizedMatrix extends NativeObject {
  /** @internal */
  readonly handle: QuantizedHandle;
  readonly format: QuantFormat;
  /** Rows (output features). */
  readonly n: number;
  /** Columns (input features); a multiple of blockSize. */
  readonly k: number;
  readonly blockSize: number;
  /** Size of {@link toBytes}: n·k/blockSize blocks. */
  readonly byteLength: number;

  /** @internal */
  constructor(handle: QuantizedHandle, format: QuantFormat, n: number, k: number, size: number) {
    super();
    this.handle = handle;
    this.format = format;
    this.n = n;
    this.k = k;
    this.blockSize = size;
    this.byteLength = (n * k * blockBytes(format, size)) / size;
    Object.freeze(this);
  }

  /**
   * Adopt on-disk blocks (a GGUF tensor's data for q8_0/q4_0/q4_1): `bytes` must be exactly
   * n·k/blockSize blocks. The bytes are copied; every byte string of that length is a valid matrix.
   */
  static fromBytes(format: QuantFormat, n: number, k: number, bytes: Uint8Array, opts?: BlockOptions): QuantizedMatrix {
    const fn = 'QuantizedMatrix.fromBytes';
    const f = quantFormat(fn, format);
    int(fn, 'n', n, 1);
    int(fn, 'k', k, 1);
    const size = blockSize(fn, f, options<BlockOptions>(fn, opts).blockSize, k);
    const length = count(fn, 'n·k', n, k / size, blockBytes(f, size));
    typed(fn, 'bytes', bytes, Uint8Array, length, `n·k/blockSize blocks of ${blockBytes(f, size)} bytes`, true);
    return new QuantizedMatrix(native.quantizedFromBytes(f, n, k, size, bytes), f, n, k, size);
  }

  /** The values the blocks stand for, [n×k]. */
  dequantize(opts?: { out?: Float32Array }): Float32Array {
    const fn = 'QuantizedMatrix.dequantize';
    const { out } = options<{ out: Float32Array }>(fn, opts);
    const length = this.n * this.k;
    const y = out === undefined ? new Float32Array(length) : typed(fn, 'out', out, Float32Array, length, 'n·k');
    native.quantizedDequantize(this.handle, y);
    return y;
  }

  /** A copy of the blocks exactly as stored on disk. */
  toBytes(): Uint8Array {
    return native.quantizedToBytes(this.handle);
  }
}

/**
 * Quantize W [n×k] (row-major) into `format`. W must be finite, and for q8_0/q4_0/q4_1 every
 * block's f16 scale must fit (RangeError naming the element or block otherwise).
 */
export function quantize(w: Float32Array, n: number, k: number, format: QuantFormat, opts?: BlockOptions): QuantizedMatrix {
  const fn = 'quantize';
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  const f = quantFormat(fn, format);
  const size = blockSize(fn, f, options<BlockOptions>(fn, opts).blockSize, k);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  return new QuantizedMatrix(native.quantize(w, n, k, f, size), f, n, k, size);
}

export interface QuantizeRowOptions extends BlockOptions {
  /** Where to write the row's blocks; at least (x.length/blockSize)·blockBytes long. */
  out?: Uint8Array;
}

/** Quantize one row (all of `x`, a multiple of the block size long) into its blocks, for streaming. */
export function quantizeRow(x: Float32Array, format: QuantFormat, opts?: QuantizeRowOptions): Uint8Array {
  const fn = 'quantizeRow';
  const f = quantFormat(fn, format);
  const { blockSize: requested, out } = options<QuantizeRowOptions>(fn, opts);
  typed(fn, 'x', x, Float32Array, 1, 'at least one element');
  const size = blockSize(fn, f, requested, x.length);
  const length = (x.length / size) * blockBytes(f, size);
  const bytes = out === undefined ? new Uint8Array(length) : typed(fn, 'out', out, Uint8Array, length, 'blocks of the row');
  native.quantizeRow(x, x.length, f, size, bytes);
  return bytes;
}

export interface DequantizeRowOptions extends BlockOptions {
  /** Where to write the k values; at least k long. */
  out?: Float32Array;
}

/** The k values of one row of blocks; `bytes` must be exactly (k/blockSize)·blockBytes long. */
export function dequantizeRow(bytes: Uint8Array, format: QuantFormat, k: number, opts?: DequantizeRowOptions): Float32Array {
  const fn = 'dequantizeRow';
  const f = quantFormat(fn, format);
  int(fn, 'k', k, 1);
  const { blockSize: requested, out } = options<DequantizeRowOptions>(fn, opts);
  const size = blockSize(fn, f, requested, k);
  typed(fn, 'bytes', bytes, Uint8Array, (k / size) * blockBytes(f, size), `k/blockSize blocks of ${blockBytes(f, size)} bytes`, true);
  const y = out === undefined ? new Float32Array(k) : typed(fn, 'out', out, Float32Array, k, 'k');
  native.dequantizeRow(bytes, k, f, size, y);
  return y;
}

export interface MatmulQuantizedOptions {
  /** Where to write Y [m×n]; at least m·n long. */
  out?: Float32Array;
  /** Added to every row of Y; n long. */
  bias?: Float32Array;
  /** 'int8' (default for q8_0, q4_0, q4_1, int8): X quantized per 32-block, exact integer block dots. 'f32' (default for nf4): W dequantized on the fly. */
  precision?: Precision;
}

function matrixOf(fn: string, w: unknown): QuantizedMatrix {
  if (!(w instanceof QuantizedMatrix)) fail('type', fn, 'w', 'a QuantizedMatrix (from quantize or QuantizedMatrix.fromBytes)', w);
  return w;
}

// The checks both matmul entry points make; returns the native precision code.
function matmulOperands(fn: string, x: unknown, w: unknown, m: number, opts: unknown): { out?: Float32Array; bias?: Float32Array; code: number } {
  const { n, k, format } = matrixOf(fn, w);
  int(fn, 'm', m);
  const { out, bias, precision: requested } = options<MatmulQuantizedOptions>(fn, opts);
  const p = precision(fn, format, requested);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m, k), 'm·k');
  if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, n, 'n', true);
  if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'm·n', m, n), 'm·n');
  return { out, bias, code: p === 'int8' ? 0 : 1 };
}

/**
 * Y[m×n] = X[m×k]·Wᵀ (+ bias). With precision 'int8' X must be finite (RangeError otherwise).
 * Results meet DESIGN.md §3's bound against the reference and do not depend on the thread count.
 */
export function matmulQuantized(x: Float32Array, w: QuantizedMatrix, m: number, opts?: MatmulQuantizedOptions): Float32Array {
  const fn = 'matmulQuantized';
  const { out, bias, code } = matmulOperands(fn, x, w, m, opts);
  const y = out ?? new Float32Array(m * w.n);
  native.matmulQuantized(x, w.handle, m, bias, code, y);
  return y;
}

/** {@link matmulQuantized} on the libuv pool. X and the bias are copied before this returns; `out`, if given, is filled on completion. */
export async function matmulQuantizedAsync(x: Float32Array, w: QuantizedMatrix, m: number, opts?: MatmulQuantizedOptions): Promise<Float32Array> {
  const fn = 'matmulQuantizedAsync';
  const { out, bias, code } = matmulOperands(fn, x, w, m, opts);
  return copyInto(fn, await native.matmulQuantizedAsync(x, w.handle, m, bias, code), out);
}

const scalarIn = new Float32Array(1);
const scalarHalf = new Uint16Array(1);

/**
 * f32 → f16 bits, rounding to nearest even; overflow gives ±Inf, NaN stays NaN. A number gives a
 * number (its bits, 0…65535); a Float32Array gives a Uint16Array (into `out` when given).
 */
export function f32ToF16(x: number): number;
export function f32ToF16(x: Float32Array, out?: Uint16Array): Uint16Array;
export function f32ToF16(x: number | Float32Array, out?: Uint16Array): number | Uint16Array {
  const fn = 'f32ToF16';
  if (typeof x === 'number') {
    scalarIn[0] = x;
    native.f32ToF16(scalarIn, scalarHalf);
    return scalarHalf[0]!;
  }
  typed(fn, 'x', x, Float32Array, 0, 'any length');
  const h = out === undefined ? new Uint16Array(x.length) : typed(fn, 'out', out, Uint16Array, x.length, 'x.length');
  native.f32ToF16(x, h);
  return h;
}

/** f16 bits → f32, exactly. A number (0…65535) gives a number; a Uint16Array gives a Float32Array. */
export function f16ToF32(h: number): number;
export function f16ToF32(h: Uint16Array, out?: Float32Array): Float32Array;
export function f16ToF32(h: number | Uint16Array, out?: Float32Array): number | Float32Array {
  const fn = 'f16ToF32';
  if (typeof h === 'number') {
    scalarHalf[0] = int(fn, 'h', h, 0, 0xffff);
    native.f16ToF32(scalarHalf, scalarIn);
    return scalarIn[0]!;
  }
  typed(fn, 'h', h, Uint16Array, 0, 'any length');
  const y = out === undefined ? new Float32Array(h.length) : typed(fn, 'out', out, Float32Array, h.length, 'h.length');
  native.f16ToF32(h, y);
  return y;
}

export interface ActivationsQ8 {
  /** Codes [m×k], each in −127…127. */
  q: Int8Array;
  /** Scale of each 32-element block [m·k/32]: amax/127 in f32. */
  d: Float32Array;
  /** Exact sum of each block's codes [m·k/32]. */
  s: Int32Array;
}

/**
 * The activation quantizer of precision 'int8', exposed for inspection and caching: each row of X
 * [m×k] (k a multiple of 32) in blocks of 32, d = amax/127, q = roundHalfAway(x·(1/d)), s = Σq.
 * X must be finite.
 */
export function quantizeActivationsQ8(x: Float32Array, m: number, k: number): ActivationsQ8 {
  const fn = 'quantizeActivationsQ8';
  int(fn, 'm', m);
  int(fn, 'k', k, 32);
  if (k % 32 !== 0) fail('range', fn, 'k', 'a multiple of 32', k);
  const length = count(fn, 'm·k', m, k);
  typed(fn, 'x', x, Float32Array, length, 'm·k');
  const result = { q: new Int8Array(length), d: new Float32Array(length / 32), s: new Int32Array(length / 32) };
  native.quantizeActivationsQ8(x, m, k, result.q, result.d, result.s);
  return result;
}

/** '<op>.<format>.<tier>' of the most recent quantization kernel, e.g. 'matmulInt8.q4_0.avx512vnni'; for tests and benchmarks. */
export function lastQuantKernel(): string | null {
  return native.lastQuantKernel();
}
