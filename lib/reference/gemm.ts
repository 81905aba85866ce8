/**
 * Reference of the int8 GEMM family: plain loops, short enough to check by eye. The native
 * kernels equal these bit for bit on every tier.
 */
import { count, int, MAX_K, typed } from '../validate';
import { clamp, f32, roundHalfEven } from './round';

/** C[m×n] = (A − aZeroPoint)·Bᵀ; A u8 [m×k], B s8 [n×k]. Sums are exact (doubles hold them). */
export function gemmU8S8(a: Uint8Array, b: Int8Array, m: number, n: number, k: number, aZeroPoint = 0): Int32Array {
  const fn = 'reference.gemmU8S8';
  checkDims(fn, m, n, k);
  int(fn, 'aZeroPoint', aZeroPoint, 0, 255);
  typed(fn, 'a', a, Uint8Array, count(fn, 'm·k', m, k), 'm·k');
  typed(fn, 'b', b, Int8Array, count(fn, 'n·k', n, k), 'n·k');
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += (a[i * k + p]! - aZeroPoint) * b[j * k + p]!;
      c[i * n + j] = acc;
    }
  }
  return c;
}

/** C[m×n] = A·Bᵀ; A s8 [m×k], B s8 [n×k]. */
export function gemmS8S8(a: Int8Array, b: Int8Array, m: number, n: number, k: number): Int32Array {
  const fn = 'reference.gemmS8S8';
  checkDims(fn, m, n, k);
  typed(fn, 'a', a, Int8Array, count(fn, 'm·k', m, k), 'm·k');
  typed(fn, 'b', b, Int8Array, count(fn, 'n·k', n, k), 'n·k');
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p]! * b[j * k + p]!;
      c[i * n + j] = acc;
    }
  }
  return c;
}

/** Symmetric per-row int8 weights: scale = max|w|/127 (1 for an all-zero row), q = clamp(roundHalfEven(w/scale), −127, 127). */
export function quantizeWeightsS8(w: Float32Array, n: number, k: number): { weight: Int8Array; scale: Float32Array } {
  const fn = 'reference.quantizeWeightsS8';
  checkDims(fn, 1, n, k);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k');
  const weight = new Int8Array(n * k);
  const scale = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let amax = 0;
    for (let p = 0; p < k; p++) {
      const v = w[j * k + p]!;
      if (!Number.isFinite(v)) throw new RangeError(`${fn}: expected w: finite values, received ${v}`);
      if (Math.abs(v) > amax) amax = Math.abs(v);
    }
    let s = f32(amax / 127);
    if (s === 0) s = 1;
    scale[j] = s;
    for (let p = 0; p < k; p++) weight[j * k + p] = clamp(roundHalfEven(f32(w[j * k + p]! / s)), -127, 127);
  }
  return { weight, scale };
}

/**
 * Per-row dynamic u8 quantization, ONNX DynamicQuantizeLinear semantics, each step in f32; with
 * `activations`, every row is coded with that static scale (as an f32) and zero point instead.
 */
export function quantizeActivationsU8(
  x: Float32Array,
  m: number,
  k: number,
  activations?: { scale: number; zeroPoint: number },
): { q: Uint8Array; scale: Float32Array; zeroPoint: Int32Array } {
  const fn = 'reference.quantizeActivationsU8';
  int(fn, 'm', m);
  int(fn, 'k', k, 1);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m, k), 'm·k');
  const q = new Uint8Array(m * k);
  const scale = new Float32Array(m);
  const zeroPoint = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let lo = 0;
    let hi = 0;
    for (let p = 0; p < k; p++) {
      const v = x[i * k + p]!;
      if (!Number.isFinite(v)) throw new RangeError(`${fn}: expected x: finite values, received ${v}`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    let s = f32(f32(hi - lo) / 255);
    if (s === 0) s = 1;
    let zp = roundHalfEven(clamp(f32(0 - f32(lo / s)), 0, 255));
    // A static range (a calibrated layer's) replaces the row's own.
    if (activations) (s = f32(activations.scale)), (zp = activations.zeroPoint);
    scale[i] = s;
    zeroPoint[i] = zp;
    for (let p = 0; p < k; p++) q[i * k + p] = clamp(roundHalfEven(f32(x[i * k + p]! / s)) + zp, 0, 255);
  }
  return { q, scale, zeroPoint };
}

/**
 * Y[m×n] = X·Wᵀ + b through int8, given the layer's quantized weight [n×k], scales [n] and bias:
 * y = f32(acc)·f32(sa·sw) + b, each operation rounded to f32 in that order.
 */
export function linearInt8(
  x: Float32Array,
  weight: Int8Array,
  weightScale: Float32Array,
  bias: Float32Array | null,
  m: number,
  n: number,
  k: number,
  activations?: { scale: number; zeroPoint: number },
): Float32Array {
  const fn = 'reference.linearInt8';
  checkDims(fn, m, n, k);
  typed(fn, 'weight', weight, Int8Array, count(fn, 'n·k', n, k), 'n·k');
  typed(fn, 'weightScale', weightScale, Float32Array, n, 'n');
  if (bias !== null) typed(fn, 'bias', bias, Float32Array, n, 'n');
  const { q, scale, zeroPoint } = quantizeActivationsU8(x, m, k, activations);
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const acc = gemmU8S8(q.subarray(i * k, (i + 1) * k), weight, 1, n, k, zeroPoint[i]);
    for (let j = 0; j < n; j++) {
      let v = f32(f32(acc[j]!) * f32(scale[i]! * weightScale[j]!));
      if (bias !== null) v = f32(v + bias[j]!);
      y[i * n + j] = v;
    }
  }
  return y;
}

function checkDims(fn: string, m: number, n: number, k: number): void {
  int(fn, 'm', m);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1, MAX_K);
}
