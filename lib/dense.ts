/**
 * Dense f32 GEMM: packed weights for linear layers and a plain C = A·B. Every output is one fused
 * multiply-add chain in k order, so results are the same on every tier and thread count
 * (docs/gemm-f32.md); against the reference they follow DESIGN.md §3's bound.
 */
import { NativeObject } from './handle';
import { native, type PackedF32Handle } from './native';
import { copyInto, count, fail, int, options, typed } from './validate';

/** W [n×k] f32 in native-owned memory, packed for the kernels. Immutable; made by {@link packF32}. */
export class PackedF32Matrix extends NativeObject {
  /** @internal */
  readonly handle: PackedF32Handle;
  /** Rows (output features). */
  readonly n: number;
  /** Columns (input features, the reduction depth). */
  readonly k: number;

  /** @internal */
  constructor(handle: PackedF32Handle, n: number, k: number) {
    super();
    this.handle = handle;
    this.n = n;
    this.k = k;
    Object.freeze(this);
  }

  /** A copy of W [n×k]. */
  toArray(): Float32Array {
    return native.packedF32Rows(this.handle);
  }
}

export interface LinearF32Options {
  /** Added to every row of Y: n values. */
  bias?: Float32Array;
  /** Where to write Y [m×n]; at least m·n long. */
  out?: Float32Array;
}

export interface GemmF32Options {
  /** B is [n×k] (C = A·Bᵀ) instead of [k×n]. Default false. */
  transB?: boolean;
  /** A is [k×m] (C = Aᵀ·B) instead of [m×k]: a layer's weight gradient dW = dYᵀ·X. Default false. */
  transA?: boolean;
  /** Where to write C [m×n]; at least m·n long. */
  out?: Float32Array;
}

/** Pack W [n×k] (row-major, out × in) for {@link linearF32}. */
export function packF32(w: Float32Array, n: number, k: number): PackedF32Matrix {
  const fn = 'packF32';
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  return new PackedF32Matrix(native.packF32(w, n, k), n, k);
}

function linearArgs(fn: string, x: unknown, w: unknown, m: unknown, opts: unknown): { w: PackedF32Matrix; x: Float32Array; m: number; bias?: Float32Array; out?: Float32Array } {
  if (!(w instanceof PackedF32Matrix)) fail('type', fn, 'w', 'a PackedF32Matrix (from packF32)', w);
  int(fn, 'm', m, 1);
  const { bias, out } = options<LinearF32Options>(fn, opts);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m as number, w.k), 'm·k');
  if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, w.n, 'n', true);
  if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'm·n', m as number, w.n), 'm·n');
  return { w, x: x as Float32Array, m: m as number, bias, out };
}

/** Y[m×n] = X[m×k]·Wᵀ + bias. */
export function linearF32(x: Float32Array, w: PackedF32Matrix, m: number, opts?: LinearF32Options): Float32Array {
  const args = linearArgs('linearF32', x, w, m, opts);
  const y = args.out ?? new Float32Array(m * args.w.n);
  native.linearF32(args.x, args.w.handle, m, args.bias, y);
  return y;
}

/** {@link linearF32} on the libuv pool; X and the bias are copied in before the call returns. */
export async function linearF32Async(x: Float32Array, w: PackedF32Matrix, m: number, opts?: LinearF32Options): Promise<Float32Array> {
  const args = linearArgs('linearF32Async', x, w, m, opts);
  return copyInto('linearF32Async', await native.linearF32Async(args.x, args.w.handle, m, args.bias), args.out);
}

function gemmArgs(fn: string, a: unknown, b: unknown, m: unknown, n: unknown, k: unknown, opts: unknown): { a: Float32Array; b: Float32Array; transB: boolean; transA: boolean; out?: Float32Array } {
  int(fn, 'm', m, 1);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  const { transB = false, transA = false, out } = options<GemmF32Options>(fn, opts);
  if (typeof transB !== 'boolean') fail('type', fn, 'options.transB', 'a boolean', transB);
  if (typeof transA !== 'boolean') fail('type', fn, 'options.transA', 'a boolean', transA);
  typed(fn, 'a', a, Float32Array, count(fn, 'm·k', m as number, k as number), transA ? 'k·m' : 'm·k');
  typed(fn, 'b', b, Float32Array, count(fn, 'k·n', k as number, n as number), 'k·n');
  if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'm·n', m as number, n as number), 'm·n');
  return { a: a as Float32Array, b: b as Float32Array, transB, transA, out };
}

/**
 * C[m×n] = A[m×k]·B with B [k×n] row-major, or B [n×k] when `transB` (then C = A·Bᵀ); A [k×m] when
 * `transA` (then C = Aᵀ·B, A transposed natively first). B is packed per call when that pays.
 */
export function gemmF32(a: Float32Array, b: Float32Array, m: number, n: number, k: number, opts?: GemmF32Options): Float32Array {
  const args = gemmArgs('gemmF32', a, b, m, n, k, opts);
  const c = args.out ?? new Float32Array(m * n);
  native.gemmF32(args.a, args.b, m, n, k, args.transB, args.transA, c);
  return c;
}

/** {@link gemmF32} on the libuv pool; A and B are copied in before the call returns. */
export async function gemmF32Async(a: Float32Array, b: Float32Array, m: number, n: number, k: number, opts?: GemmF32Options): Promise<Float32Array> {
  const args = gemmArgs('gemmF32Async', a, b, m, n, k, opts);
  return copyInto('gemmF32Async', await native.gemmF32Async(args.a, args.b, m, n, k, args.transB, args.transA), args.out);
}

/** `gemm_f32__<tier>` of the dense f32 kernel that ran last, or null. */
export function lastF32GemmKernel(): string | null {
  return native.lastF32GemmKernel();
}
