/**
 * The int8 GEMM family: packed int8 weights, exact integer GEMM, and the quantized linear layer.
 * Layout: a linear layer is Y[m×n] = X[m×k]·Wᵀ + b with W stored [n×k] (out × in, PyTorch).
 */
import { NativeObject } from './handle';
import { native, type LinearInt8Handle, type PackedInt8Handle } from './native';
import { clamp, roundHalfEven } from './reference/round';
import { copyInto, count, fail, int, MAX_K, options, typed } from './validate';

/** B [n×k] s8 in native-owned memory, packed for the kernels. Immutable; made by {@link packInt8}. */
export class PackedInt8Matrix extends NativeObject {
  /** @internal */
  readonly handle: PackedInt8Handle;
  /** Rows (output features). */
  readonly n: number;
  /** Columns (input features, the reduction depth). */
  readonly k: number;

  /** @internal */
  constructor(handle: PackedInt8Handle, n: number, k: number) {
    super();
    this.handle = handle;
    this.n = n;
    this.k = k;
    Object.freeze(this);
  }

  /** A copy of B [n×k]. */
  toArray(): Int8Array {
    return native.packedInt8Rows(this.handle);
  }
}

/**
 * A static u8 activation range: every row of X is coded as clamp(roundHalfEven(x/scale) + zeroPoint, 0, 255)
 * (values outside the range saturate). `scale` is used as an f32; zeroPoint is an integer in 0…255.
 */
export interface ActivationRange {
  scale: number;
  zeroPoint: number;
}

/**
 * The u8 range that covers [lo, hi] (widened to contain 0), by the same f32 formula the dynamic
 * quantizer applies to each row: scale = (hi − lo)/255 (1 when 0), zeroPoint = roundHalfEven(clamp(−lo/scale, 0, 255)).
 */
export function activationRange(lo: number, hi: number): ActivationRange {
  const fn = 'activationRange';
  for (const [name, v] of [['lo', lo], ['hi', hi]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) fail('range', fn, name, 'a finite f32 number', v);
  }
  const l = Math.fround(Math.min(lo, 0)), h = Math.fround(Math.max(hi, 0));
  let scale = Math.fround(Math.fround(h - l) / 255);
  if (scale === 0) scale = 1;
  return { scale, zeroPoint: roundHalfEven(clamp(Math.fround(0 - Math.fround(l / scale)), 0, 255)) };
}

/** Checks a static activation range and returns it with its scale rounded to f32. */
function rangeOf(fn: string, value: unknown): ActivationRange {
  const { scale, zeroPoint } = options<ActivationRange>(fn, value);
  const s = typeof scale === 'number' ? Math.fround(scale) : NaN;
  if (!(s > 0 && Number.isFinite(s))) fail('range', fn, 'activations.scale', 'a positive finite f32 number', scale);
  int(fn, 'activations.zeroPoint', zeroPoint, 0, 255);
  return { scale: s, zeroPoint: zeroPoint! };
}

/** A quantized linear layer: int8 weights per output channel, f32 scales, optional bias. Made by {@link quantizeLinearInt8}. */
export class LinearInt8 extends NativeObject {
  /** @internal */
  readonly handle: LinearInt8Handle;
  readonly n: number;
  readonly k: number;
  readonly hasBias: boolean;
  /** The static activation range every row is coded with, or null for per-row (dynamic) ranges. */
  readonly activations: Readonly<ActivationRange> | null;

  /** @internal */
  constructor(handle: LinearInt8Handle, n: number, k: number, hasBias: boolean) {
    super();
    this.handle = handle;
    this.n = n;
    this.k = k;
    this.hasBias = hasBias;
    const range = native.linearInt8Activations(handle);
    this.activations = range && Object.freeze({ scale: range[0], zeroPoint: range[1] });
    Object.freeze(this);
  }

  /** Copies of the quantized weight [n×k], the per-row scales [n] and the bias [n] (or null). */
  toArrays(): { weight: Int8Array; scale: Float32Array; bias: Float32Array | null } {
    const [weight, scale, bias] = native.linearInt8Parts(this.handle);
    return { weight, scale, bias };
  }

  /**
   * A layer from its parts, as {@link toArrays} gives them: codes W [n×k] in −127…127 and positive
   * finite per-row scales [n] (weight j·p stands for weight[j·k + p]·scale[j]). For quantizers
   * that choose their own codes (GPTQ). Everything is copied.
   */
  static fromArrays(weight: Int8Array, scale: Float32Array, n: number, k: number, opts?: QuantizeLinearInt8Options): LinearInt8 {
    const fn = 'LinearInt8.fromArrays';
    int(fn, 'n', n, 1);
    int(fn, 'k', k, 1, MAX_K);
    typed(fn, 'weight', weight, Int8Array, count(fn, 'n·k', n, k), 'n·k', true);
    typed(fn, 'scale', scale, Float32Array, n, 'n', true);
    const { bias, activations } = options<QuantizeLinearInt8Options>(fn, opts);
    if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, n, 'n', true);
    const range = activations === undefined ? undefined : rangeOf(fn, activations);
    return new LinearInt8(native.linearInt8FromArrays(weight, scale, n, k, bias, range?.scale, range?.zeroPoint), n, k, bias !== undefined);
  }
}

export interface GemmU8S8Options {
  /** Subtracted from every element of A (0…255). Default 0. */
  aZeroPoint?: number;
  /** Where to write C [m×n]; at least m·n long. */
  out?: Int32Array;
}

export interface GemmOptions {
  out?: Int32Array;
}

export interface LinearOptions {
  out?: Float32Array;
}

function packed(fn: string, w: unknown): PackedInt8Matrix {
  if (!(w instanceof PackedInt8Matrix)) fail('type', fn, 'w', 'a PackedInt8Matrix (from packInt8)', w);
  return w;
}

// The operand checks every GEMM entry point makes: w, m, A of m·k elements, and `out` (if given)
// of at least m·n. Returns the number of outputs.
function gemmOperands(fn: string, a: unknown, ctor: Uint8ArrayConstructor | Int8ArrayConstructor, w: unknown, m: number, out: unknown): number {
  const { k, n } = packed(fn, w);
  int(fn, 'm', m);
  typed(fn, 'a', a, ctor, count(fn, 'm·k', m, k), 'm·k');
  const outputs = count(fn, 'm·n', m, n);
  if (out !== undefined) typed(fn, 'out', out, Int32Array, outputs, 'm·n');
  return outputs;
}

function layerOf(fn: string, layer: unknown): LinearInt8 {
  if (!(layer instanceof LinearInt8)) fail('type', fn, 'layer', 'a LinearInt8 (from quantizeLinearInt8)', layer);
  return layer;
}

/**
 * Pack B [n×k] (s8, row-major: n output rows of k inputs) into native-owned memory. Row sums
 * for zero-point corrections are computed here, once. 1 ≤ k ≤ 65536.
 */
export function packInt8(b: Int8Array, n: number, k: number): PackedInt8Matrix {
  const fn = 'packInt8';
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1, MAX_K);
  typed(fn, 'b', b, Int8Array, count(fn, 'n·k', n, k), 'n·k', true);
  return new PackedInt8Matrix(native.packInt8(b, n, k), n, k);
}

/** C[m×n] = (A − aZeroPoint)·Bᵀ with A u8 [m×k]. Exact in int32 for every input (k ≤ 65536). */
export function gemmU8S8(a: Uint8Array, w: PackedInt8Matrix, m: number, opts?: GemmU8S8Options): Int32Array {
  const fn = 'gemmU8S8';
  const { aZeroPoint = 0, out } = options<GemmU8S8Options>(fn, opts);
  const outputs = gemmOperands(fn, a, Uint8Array, w, m, out);
  int(fn, 'aZeroPoint', aZeroPoint, 0, 255);
  const c = out ?? new Int32Array(outputs);
  native.gemmU8S8(a, w.handle, m, aZeroPoint, c);
  return c;
}

/** C[m×n] = A·Bᵀ with A s8 [m×k]. Exact in int32 (k ≤ 65536). */
export function gemmS8S8(a: Int8Array, w: PackedInt8Matrix, m: number, opts?: GemmOptions): Int32Array {
  const fn = 'gemmS8S8';
  const { out } = options<GemmOptions>(fn, opts);
  const outputs = gemmOperands(fn, a, Int8Array, w, m, out);
  const c = out ?? new Int32Array(outputs);
  native.gemmS8S8(a, w.handle, m, c);
  return c;
}

/** {@link gemmU8S8} on the libuv pool. A is copied before this returns; `out`, if given, is filled on completion. */
export async function gemmU8S8Async(a: Uint8Array, w: PackedInt8Matrix, m: number, opts?: GemmU8S8Options): Promise<Int32Array> {
  const fn = 'gemmU8S8Async';
  const { aZeroPoint = 0, out } = options<GemmU8S8Options>(fn, opts);
  gemmOperands(fn, a, Uint8Array, w, m, out);
  int(fn, 'aZeroPoint', aZeroPoint, 0, 255);
  return copyInto(fn, await native.gemmU8S8Async(a, w.handle, m, aZeroPoint), out);
}

/** {@link gemmS8S8} on the libuv pool. */
export async function gemmS8S8Async(a: Int8Array, w: PackedInt8Matrix, m: number, opts?: GemmOptions): Promise<Int32Array> {
  const fn = 'gemmS8S8Async';
  const { out } = options<GemmOptions>(fn, opts);
  gemmOperands(fn, a, Int8Array, w, m, out);
  return copyInto(fn, await native.gemmS8S8Async(a, w.handle, m), out);
}

export interface QuantizeLinearInt8Options {
  /** Added to every output row: n values (copied). */
  bias?: Float32Array;
  /**
   * A static activation range (from calibration, see `activationRanges` in sparq's compress
   * toolkit): rows are coded with it instead of each row's own min/max, one pass instead of two.
   * Per-row (dynamic) when omitted.
   */
  activations?: ActivationRange;
}

/**
 * Quantize a float linear layer W [n×k] (+ bias [n]) to symmetric per-output-channel int8:
 * scale[j] = max|W[j]|/127 (1 for an all-zero row), q = clamp(roundHalfEven(w/scale), −127, 127).
 * W must be finite (RangeError otherwise).
 */
export function quantizeLinearInt8(w: Float32Array, n: number, k: number, opts?: QuantizeLinearInt8Options): LinearInt8 {
  const fn = 'quantizeLinearInt8';
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1, MAX_K);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  const { bias, activations } = options<QuantizeLinearInt8Options>(fn, opts);
  if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, n, 'n', true);
  const range = activations === undefined ? undefined : rangeOf(fn, activations);
  return new LinearInt8(native.quantizeLinearInt8(w, n, k, bias, range?.scale, range?.zeroPoint), n, k, bias !== undefined);
}

/**
 * Y[m×n] = X·Wᵀ + b through int8: each row of X is quantized to u8 (see {@link quantizeActivationsU8};
 * with the layer's static range when it has one),
 * multiplied exactly, and scaled as y = f32(acc)·f32(sa·sw[j]) + b[j], each step rounded to f32 in
 * that order, so every tier gives the same bits as the reference. X must be finite.
 */
export function linearInt8(x: Float32Array, layer: LinearInt8, m: number, opts?: LinearOptions): Float32Array {
  const fn = 'linearInt8';
  const { n, k } = layerOf(fn, layer);
  int(fn, 'm', m);
  const { out } = options<LinearOptions>(fn, opts);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m, k), 'm·k');
  const y = out === undefined ? new Float32Array(count(fn, 'm·n', m, n)) : typed(fn, 'out', out, Float32Array, count(fn, 'm·n', m, n), 'm·n');
  native.linearInt8(x, layer.handle, m, y);
  return y;
}

/** {@link linearInt8} on the libuv pool. X is copied before this returns. */
export async function linearInt8Async(x: Float32Array, layer: LinearInt8, m: number, opts?: LinearOptions): Promise<Float32Array> {
  const fn = 'linearInt8Async';
  const { n, k } = layerOf(fn, layer);
  int(fn, 'm', m);
  const { out } = options<LinearOptions>(fn, opts);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m, k), 'm·k');
  if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'm·n', m, n), 'm·n');
  return copyInto(fn, await native.linearInt8Async(x, layer.handle, m), out);
}

export interface QuantizedActivations {
  /** u8 codes [m×k]. */
  q: Uint8Array;
  /** Per-row scale [m]. */
  scale: Float32Array;
  /** Per-row zero point [m], each in 0…255. */
  zeroPoint: Int32Array;
}

/**
 * Per-row dynamic u8 quantization with ONNX DynamicQuantizeLinear semantics: lo = min(0, min x),
 * hi = max(0, max x), scale = (hi − lo)/255 (1 when that is 0), zeroPoint = roundHalfEven(clamp(−lo/scale, 0, 255)),
 * q = clamp(roundHalfEven(x/scale) + zeroPoint, 0, 255), all in f32. With `activations`, every row
 * takes that static scale and zero point instead (the codes of a calibrated int8 layer). X must be finite.
 */
export function quantizeActivationsU8(x: Float32Array, m: number, k: number, opts?: { activations?: ActivationRange }): QuantizedActivations {
  const fn = 'quantizeActivationsU8';
  int(fn, 'm', m);
  int(fn, 'k', k, 1);
  const length = count(fn, 'm·k', m, k);
  typed(fn, 'x', x, Float32Array, length, 'm·k');
  const { activations } = options<{ activations: ActivationRange }>(fn, opts);
  const result = { q: new Uint8Array(length), scale: new Float32Array(m), zeroPoint: new Int32Array(m) };
  if (activations === undefined) {
    native.quantizeActivationsU8(x, m, k, result.q, result.scale, result.zeroPoint);
  } else {
    const { scale, zeroPoint } = rangeOf(fn, activations);
    native.codeActivationsU8(x, m, k, scale, zeroPoint, result.q);
    result.scale.fill(scale);
    result.zeroPoint.fill(zeroPoint);
  }
  return result;
}

/**
 * The kernel of the int8 layer's float steps (activation quantizer and epilogue) that ran last,
 * e.g. `linear_int8__avx512`, or null before any: `quantizeActivationsU8` and `linearInt8` run it.
 */
export function lastLinearInt8Kernel(): string | null {
  return native.lastLinearInt8Kernel();
}

/** Name of the kernel that ran the most recent int8 GEMM (e.g. 'gemm_u8s8s32__avx512vnni'); for tests and benchmarks. */
export function lastInt8GemmKernel(): string | null {
  return native.lastInt8GemmKernel();
}
