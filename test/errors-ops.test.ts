/**
 * Bad input to the transformer ops: a TypeError or RangeError naming the argument, what was
 * expected and what came. The last part calls the binding directly, past the TS checks, with short
 * arrays and indices out of range: it must throw, never touch memory.
 */
import { describe, expect, it } from 'vitest';
import { ops } from '../lib/index';
import { native } from '../lib/native';
import { expectThrows } from './helpers';

const f = (n: number) => new Float32Array(n);

describe('transformer ops refuse bad input', () => {
  it.each([
    ['unary: x not a Float32Array', () => ops.relu([1, 2] as never), TypeError, /^relu: expected x: Float32Array, received Array/],
    ['unary: an unknown op', () => ops.unary('erf' as never, f(2)), RangeError, /^unary: expected op: one of relu, tanh, sigmoid, silu, geluErf, geluTanh, exp, received string "erf"/],
    ['gelu: approximate', () => ops.gelu(f(2), { approximate: 'fast' as never }), RangeError, /^gelu: expected approximate: 'erf' or 'tanh', received string "fast"/],
    ['unary: a short out', () => ops.tanh(f(4), { out: f(3) }), RangeError, /^tanh: expected out: Float32Array of length ≥ 4 \(x.length\)/],
    ['add: b of another length', () => ops.add(f(4), f(5)), RangeError, /^add: expected b: Float32Array of length 4 \(a.length\)/],
    ['addBias: bias of the wrong length', () => ops.addBias(f(6), 2, 3, f(2)), RangeError, /^addBias: expected bias: Float32Array of length 3 \(n\)/],
    ['addBias: n = 0', () => ops.addBias(f(6), 2, 0, f(0)), RangeError, /^addBias: expected n: an integer in \[1, 2147483647\], received number 0/],
    ['layerNorm: short x', () => ops.layerNorm(f(5), 2, 3, f(3), f(3)), RangeError, /^layerNorm: expected x: Float32Array of length ≥ 6 \(rows·d\), received Float32Array of length 5/],
    ['layerNorm: gamma', () => ops.layerNorm(f(6), 2, 3, f(2), f(3)), RangeError, /^layerNorm: expected gamma: Float32Array of length 3 \(d\)/],
    ['layerNorm: eps', () => ops.layerNorm(f(6), 2, 3, f(3), f(3), { eps: -1 }), RangeError, /^layerNorm: expected eps: a finite number ≥ 0, received number -1/],
    ['layerNorm: rows not an integer', () => ops.layerNorm(f(6), 1.5, 3, f(3), f(3)), TypeError, /^layerNorm: expected rows: an integer, received number 1.5/],
    ['softmax: mask length', () => ops.softmax(f(6), 2, 3, { mask: f(4) }), RangeError, /^softmax: expected mask: Float32Array of length 3 \(n\) or 6 \(rows·n\)/],
    ['softmax: options not an object', () => ops.softmax(f(6), 2, 3, 5 as never), TypeError, /^softmax: expected options: an object, received number 5/],
    ['embeddingGather: id out of range', () => ops.embeddingGather(f(12), 4, Int32Array.of(0, 3)), RangeError, /^embeddingGather: expected ids\[1\]: an integer in \[0, 3\), received number 3/],
    ['embeddingGather: negative id', () => ops.embeddingGather(f(12), 4, Int32Array.of(-1)), RangeError, /^embeddingGather: expected ids\[0\]: an integer in \[0, 3\), received number -1/],
    ['embeddingGather: table not a multiple of d', () => ops.embeddingGather(f(10), 4, Int32Array.of(0)), RangeError, /^embeddingGather: expected table: a length that is a multiple of d = 4/],
    ['embeddingGather: ids not Int32Array', () => ops.embeddingGather(f(12), 4, [0] as never), TypeError, /^embeddingGather: expected ids: Int32Array, received Array/],
    ['meanPool: negative length', () => ops.meanPool(f(8), 4, Int32Array.of(2, -1)), RangeError, /^meanPool: expected lengths\[1\]: a count ≥ 0, received number -1/],
    ['meanPool: short x', () => ops.meanPool(f(8), 4, Int32Array.of(2, 1)), RangeError, /^meanPool: expected x: Float32Array of length ≥ 12 \(Σlengths·d\)/],
    ['meanPool: short keep', () => ops.meanPool(f(12), 4, Int32Array.of(2, 1), { keep: new Uint8Array(2) }), RangeError, /^meanPool: expected keep: Uint8Array of length ≥ 3 \(Σlengths\)/],
    ['attention: heads not dividing d', () => ops.attention(f(3 * 6), 6, 4), RangeError, /^attention: expected heads: a divisor of d = 6, received number 4/],
    ['attention: qkv not whole tokens', () => ops.attention(f(19), 6, 2), RangeError, /^attention: expected qkv: a length that is a multiple of 3d = 18/],
    ['attention: short qkv for the lengths', () => ops.attention(f(18), 6, 2, { lengths: Int32Array.of(1, 1) }), RangeError, /^attention: expected qkv: Float32Array of length ≥ 36 \(Σlengths·3d\)/],
    ['attention: scale', () => ops.attention(f(18), 6, 2, { scale: NaN }), TypeError, /^attention: expected scale: a finite number, received number NaN/],
  ] as const)('%s', (_, call, error, message) => {
    expectThrows(call, error, message);
  });

  it('refuses an out that overlaps the input of gather, pooling and attention', () => {
    const qkv = f(2 * 18);
    expectThrows(() => ops.attention(qkv, 6, 2, { out: qkv.subarray(6, 18) }), RangeError, /^attention: expected out: an array that does not overlap qkv/);
    const x = f(12);
    expectThrows(() => ops.meanPool(x, 4, Int32Array.of(3), { out: x.subarray(8) }), RangeError, /^meanPool: expected out: an array that does not overlap x/);
    // Disjoint views of one buffer are fine.
    expect(ops.meanPool(x.subarray(0, 8), 4, Int32Array.of(2), { out: x.subarray(8) })).toHaveLength(4);
  });

  it('the binding re-checks lengths and indices itself', () => {
    expect(() => native.opsUnary(0, f(3), 4, f(4))).toThrow(RangeError);
    expect(() => native.opsUnary(99, f(3), 3, f(3))).toThrow(RangeError);
    expect(() => native.opsAdd(f(4), f(3), 4, f(4))).toThrow(RangeError);
    expect(() => native.opsLayerNorm(f(6), 2, 3, f(2), f(3), 1e-5, f(6))).toThrow(RangeError);
    expect(() => native.opsSoftmax(f(6), 2, 3, f(3), true, f(6))).toThrow(RangeError);
    expect(() => native.opsGather(f(12), 3, 4, Int32Array.of(5), f(4))).toThrow(/ids: integers in \[0, 3\), received 5 at \[0\]/);
    expect(() => native.opsGather(f(12), 4, 4, Int32Array.of(0), f(4))).toThrow(RangeError); // table shorter than vocab·d
    expect(() => native.opsMeanPool(f(8), 4, Int32Array.of(3), 1, null, f(4))).toThrow(RangeError);
    expect(() => native.opsMeanPool(f(8), 4, Int32Array.of(-1), 1, null, f(4))).toThrow(/lengths: counts ≥ 0/);
    expect(() => native.opsMeanPool(f(8), 4, Int32Array.of(1), 2, null, f(8))).toThrow(RangeError); // segments > lengths.length
    expect(() => native.opsAttention(f(18), 6, 4, 1, Int32Array.of(1), 1, null, f(6))).toThrow(/heads: a divisor of d/);
    expect(() => native.opsAttention(f(18), 6, 2, 1, Int32Array.of(2), 1, null, f(12))).toThrow(RangeError);
    expect(() => native.opsAttention(f(18), 6, 2, 1, Int32Array.of(1), 1, new Uint8Array(0), f(6))).toThrow(RangeError);
    expect(() => native.opsAttention(f(18), 6, 2, 1, Int32Array.of(0x7fffffff, 1), 2, null, f(6))).toThrow(/a sum ≤ 2147483647/);
  });
});
