/**
 * The ops a transformer needs beside its Linear layers, native on every tier (native/include/sparq/
 * ops.h) and equal bit for bit to lib/reference/ops.ts: reductions have one order on every tier, and
 * exp/tanh/erf are one approximation everywhere (docs/nn.md states its distance from the exact
 * functions). Activations are row-major f32 [rows×d]. Every op writes a new array, or `out` when
 * given: for the elementwise ops, add, addBias, layerNorm and softmax that may be the input itself
 * (they work in place); gather, pooling and attention refuse an `out` that overlaps their input.
 */
import { native } from '../native';
import { UNARY_OPS, type UnaryOp } from '../reference/ops';
import { count, fail, int, options, typed } from '../validate';

export { UNARY_OPS, type UnaryOp };

export interface OpOptions {
  out?: Float32Array;
}

function output(fn: string, out: unknown, length: number, formula: string): Float32Array {
  return out === undefined ? new Float32Array(length) : typed(fn, 'out', out, Float32Array, length, formula);
}

/** out of an op that reads its input while it writes (gather, pooling, attention) may not overlap it. */
function separate(fn: string, out: Float32Array, input: Float32Array, name: string): void {
  const sameBuffer = out.buffer === input.buffer;
  if (sameBuffer && out.byteOffset < input.byteOffset + input.byteLength && input.byteOffset < out.byteOffset + out.byteLength) {
    fail('range', fn, 'out', `an array that does not overlap ${name}`, out);
  }
}

function floats(fn: string, name: string, value: unknown, length: number, formula: string, exact = false): Float32Array {
  return typed(fn, name, value, Float32Array, length, formula, exact);
}

/** An elementwise op over all of x: relu, tanh, sigmoid, silu, geluErf, geluTanh or exp. */
export function unary(op: UnaryOp, x: Float32Array, opts?: OpOptions): Float32Array {
  if (!UNARY_OPS.includes(op)) fail('range', 'unary', 'op', `one of ${UNARY_OPS.join(', ')}`, op);
  const fn = op;
  const o = options<OpOptions>(fn, opts);
  const input = floats(fn, 'x', x, 0, 'any length');
  const y = output(fn, o.out, input.length, 'x.length');
  native.opsUnary(UNARY_OPS.indexOf(op), input, input.length, y);
  return y;
}

/** max(x, 0) (NaN stays NaN, −0 becomes +0). */
export const relu = (x: Float32Array, opts?: OpOptions) => unary('relu', x, opts);
export const tanh = (x: Float32Array, opts?: OpOptions) => unary('tanh', x, opts);
export const sigmoid = (x: Float32Array, opts?: OpOptions) => unary('sigmoid', x, opts);
/** x·sigmoid(x). */
export const silu = (x: Float32Array, opts?: OpOptions) => unary('silu', x, opts);

export interface GeluOptions extends OpOptions {
  /** 'erf' (default): x·Φ(x); 'tanh': the tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
  approximate?: 'erf' | 'tanh';
}

export function gelu(x: Float32Array, opts?: GeluOptions): Float32Array {
  const o = options<GeluOptions>('gelu', opts);
  if (o.approximate !== undefined && o.approximate !== 'erf' && o.approximate !== 'tanh') {
    fail('range', 'gelu', 'approximate', "'erf' or 'tanh'", o.approximate);
  }
  return unary(o.approximate === 'tanh' ? 'geluTanh' : 'geluErf', x, o);
}

/** a + b, element by element (a residual connection); b has a's length. */
export function add(a: Float32Array, b: Float32Array, opts?: OpOptions): Float32Array {
  const fn = 'add';
  const o = options<OpOptions>(fn, opts);
  floats(fn, 'a', a, 0, 'any length');
  floats(fn, 'b', b, a.length, 'a.length', true);
  const y = output(fn, o.out, a.length, 'a.length');
  native.opsAdd(a, b, a.length, y);
  return y;
}

/** x [rows×n] + bias [n] on every row. */
export function addBias(x: Float32Array, rows: number, n: number, bias: Float32Array, opts?: OpOptions): Float32Array {
  const fn = 'addBias';
  const o = options<OpOptions>(fn, opts);
  int(fn, 'rows', rows);
  int(fn, 'n', n, 1);
  const length = count(fn, 'rows·n', rows, n);
  floats(fn, 'x', x, length, 'rows·n');
  floats(fn, 'bias', bias, n, 'n', true);
  const y = output(fn, o.out, length, 'rows·n');
  native.opsAddBias(x, rows, n, bias, y);
  return y;
}

export interface LayerNormOptions extends OpOptions {
  /** Added to the variance (as f32); default 1e-5. */
  eps?: number;
}

/** Per row of d: yᵢ = (γᵢ·r)·(xᵢ − μ) + βᵢ, r = 1/√(σ² + ε) (μ, σ² the row's mean and variance). */
export function layerNorm(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array, opts?: LayerNormOptions): Float32Array {
  const fn = 'layerNorm';
  const o = options<LayerNormOptions>(fn, opts);
  int(fn, 'rows', rows);
  int(fn, 'd', d, 1);
  const length = count(fn, 'rows·d', rows, d);
  floats(fn, 'x', x, length, 'rows·d');
  floats(fn, 'gamma', gamma, d, 'd', true);
  floats(fn, 'beta', beta, d, 'd', true);
  const eps = o.eps ?? 1e-5;
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) fail('range', fn, 'eps', 'a finite number ≥ 0', eps);
  const y = output(fn, o.out, length, 'rows·d');
  native.opsLayerNorm(x, rows, d, gamma, beta, eps, y);
  return y;
}

export interface SoftmaxOptions extends OpOptions {
  /** Added to x before the softmax: n values for every row, or rows·n (one row each). −∞ masks out. */
  mask?: Float32Array;
}

/** Numerically stable softmax of each row of n; a row that is all −∞ (after the mask) gives zeros. */
export function softmax(x: Float32Array, rows: number, n: number, opts?: SoftmaxOptions): Float32Array {
  const fn = 'softmax';
  const o = options<SoftmaxOptions>(fn, opts);
  int(fn, 'rows', rows);
  int(fn, 'n', n, 1);
  const length = count(fn, 'rows·n', rows, n);
  floats(fn, 'x', x, length, 'rows·n');
  let mask: Float32Array | null = null;
  if (o.mask !== undefined) {
    mask = floats(fn, 'mask', o.mask, 0, 'n or rows·n');
    if (mask.length !== n && mask.length !== length) fail('range', fn, 'mask', `Float32Array of length ${n} (n) or ${length} (rows·n)`, mask);
  }
  const y = output(fn, o.out, length, 'rows·n');
  native.opsSoftmax(x, rows, n, mask, mask !== null && mask.length !== n, y);
  return y;
}

/** Rows of an embedding table [vocab×d] at ids: [ids.length×d]. */
export function embeddingGather(table: Float32Array, d: number, ids: Int32Array, opts?: OpOptions): Float32Array {
  const fn = 'embeddingGather';
  const o = options<OpOptions>(fn, opts);
  int(fn, 'd', d, 1);
  floats(fn, 'table', table, 0, 'vocab·d');
  if (table.length % d !== 0) fail('range', fn, 'table', `a length that is a multiple of d = ${d}`, table);
  const vocab = table.length / d;
  typed(fn, 'ids', ids, Int32Array, 0, 'any length');
  for (let i = 0; i < ids.length; i++) {
    if (ids[i]! < 0 || ids[i]! >= vocab) fail('range', fn, `ids[${i}]`, `an integer in [0, ${vocab})`, ids[i]);
  }
  const y = output(fn, o.out, count(fn, 'ids.length·d', ids.length, d), 'ids.length·d');
  separate(fn, y, table, 'table');
  native.opsGather(table, vocab, d, ids, y);
  return y;
}

/** Segment lengths, each ≥ 0; returns their sum. */
function segments(fn: string, lengths: unknown): number {
  typed(fn, 'lengths', lengths, Int32Array, 0, 'one count per sequence');
  let total = 0;
  for (const [i, length] of (lengths as Int32Array).entries()) {
    if (length < 0) fail('range', fn, `lengths[${i}]`, 'a count ≥ 0', length);
    total += length;
  }
  return total;
}

export interface MeanPoolOptions extends OpOptions {
  /** One flag per row: 0 leaves the row out of its sequence's mean (a padding mask). */
  keep?: Uint8Array;
}

/**
 * Masked mean pooling over packed sequences: x [Σlengths×d] holds sequence s's lengths[s] rows in
 * turn; the result [lengths.length×d] is each sequence's mean over its kept rows (zeros for none).
 */
export function meanPool(x: Float32Array, d: number, lengths: Int32Array, opts?: MeanPoolOptions): Float32Array {
  const fn = 'meanPool';
  const o = options<MeanPoolOptions>(fn, opts);
  int(fn, 'd', d, 1);
  const rows = segments(fn, lengths);
  floats(fn, 'x', x, count(fn, 'Σlengths·d', rows, d), 'Σlengths·d');
  const keep = o.keep === undefined ? null : typed(fn, 'keep', o.keep, Uint8Array, rows, 'Σlengths');
  const y = output(fn, o.out, count(fn, 'lengths.length·d', lengths.length, d), 'lengths.length·d');
  separate(fn, y, x, 'x');
  native.opsMeanPool(x, d, lengths, lengths.length, keep, y);
  return y;
}

export interface AttentionOptions extends OpOptions {
  /** Multiplies the queries; default 1/√(d/heads). */
  scale?: number;
  /** Packed sequences: each attends within its own tokens. Default: one sequence of every row. */
  lengths?: Int32Array;
  /** One flag per token: keys whose flag is 0 are masked out (a padding mask). */
  keep?: Uint8Array;
}

/**
 * Multi-head scaled dot-product self-attention from a fused QKV projection [tokens×3d] (Q, K, V
 * side by side, each split into `heads` heads of d/heads): per head, softmax((scale·Q)·Kᵀ)·V, the
 * heads side by side in [tokens×d]. QKᵀ and ·V are products of their own, in a fixed order.
 */
export function attention(qkv: Float32Array, d: number, heads: number, opts?: AttentionOptions): Float32Array {
  const fn = 'attention';
  const o = options<AttentionOptions>(fn, opts);
  int(fn, 'd', d, 1, Math.floor(0x7fffffff / 3));
  int(fn, 'heads', heads, 1, d);
  if (d % heads !== 0) fail('range', fn, 'heads', `a divisor of d = ${d}`, heads);
  floats(fn, 'qkv', qkv, 0, 'tokens·3d');
  let lengths = o.lengths;
  if (lengths === undefined) {
    if (qkv.length % (3 * d) !== 0) fail('range', fn, 'qkv', `a length that is a multiple of 3d = ${3 * d}`, qkv);
    lengths = Int32Array.of(qkv.length / (3 * d));
  }
  const tokens = segments(fn, lengths);
  floats(fn, 'qkv', qkv, count(fn, 'tokens·3d', tokens, 3 * d), 'Σlengths·3d');
  const scale = o.scale ?? 1 / Math.sqrt(d / heads);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) fail('type', fn, 'scale', 'a finite number', scale);
  const keep = o.keep === undefined ? null : typed(fn, 'keep', o.keep, Uint8Array, tokens, 'tokens');
  const y = output(fn, o.out, count(fn, 'tokens·d', tokens, d), 'tokens·d');
  separate(fn, y, qkv, 'qkv');
  native.opsAttention(qkv, d, heads, scale, lengths, lengths.length, keep, y);
  return y;
}

/** The ops kernel of the last call on this thread's process, e.g. `ops__avx512`, or null before any. */
export function lastOpsKernel(): string | null {
  return native.lastOpsKernel();
}
