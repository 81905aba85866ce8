/**
 * LowRankLinear: Y = (X·Aᵀ)·Bᵀ + b with A [r×k] and B [n×r], two Linears of any form run one after
 * the other (the rank-r intermediate lives only for the call). It is a Linear like any other, so
 * models hold it without asking; (n + k)·r weights instead of n·k, and (n + k)·r multiply-adds per
 * row instead of n·k, which pays below the break-even rank measured in bench/ (docs/compress.md).
 * Built from factors by `LowRankLinear.fromFactors`; lib/compress/lowrank.ts finds them.
 */
import { defaultBlockSize, type QuantFormat } from '../formats';
import { count, fail, int, options, typed } from '../validate';
import { Linear, type FromWeightsOptions } from './linear';

export type FactorOptions = Pick<FromWeightsOptions, 'bias' | 'format' | 'blockSize' | 'precision'>;

const BLOCK_FORMS: readonly string[] = ['q8_0', 'q4_0', 'q4_1', 'nf4', 'int8-block'];

/** Elements per block of a factor stored in `format` (1 for the forms without blocks): the rank must be a multiple. */
export function factorBlockSize(format: string | undefined, blockSize?: number): number {
  if (!format || !BLOCK_FORMS.includes(format)) return 1;
  return blockSize ?? defaultBlockSize((format === 'int8-block' ? 'int8' : format) as QuantFormat);
}

export class LowRankLinear extends Linear {
  readonly format = 'lowrank';
  readonly weightBytes: number;
  /** The inner dimension r. */
  readonly rank: number;
  /** X·Aᵀ: r outputs, no bias. */
  readonly first: Linear;
  /** Z·Bᵀ + b: n outputs. */
  readonly second: Linear;

  private constructor(first: Linear, second: Linear, bias: Float32Array | null) {
    super(second.n, first.k, bias);
    this.first = first;
    this.second = second;
    this.rank = first.n;
    this.weightBytes = first.weightBytes + second.weightBytes;
  }

  /**
   * The layer W ≈ B·A from A [r×k] (`first`) and B [n×r] (`second`), f32 row-major, each stored in
   * the given form (f32 when omitted; block formats need r to be a multiple of their block size).
   */
  static fromFactors(first: Float32Array, second: Float32Array, n: number, k: number, rank: number, opts?: FactorOptions): LowRankLinear {
    const fn = 'LowRankLinear.fromFactors';
    const o = options<FactorOptions>(fn, opts);
    int(fn, 'n', n, 1);
    int(fn, 'k', k, 1);
    int(fn, 'rank', rank, 1);
    typed(fn, 'first', first, Float32Array, count(fn, 'rank·k', rank, k), 'rank·k', true);
    typed(fn, 'second', second, Float32Array, count(fn, 'n·rank', n, rank), 'n·rank', true);
    const { bias, ...form } = o;
    const block = factorBlockSize(form.format, form.blockSize);
    if (rank % block !== 0) fail('range', fn, 'rank', `a multiple of ${block} (the second factor's k, in ${form.format} blocks)`, rank);
    const a = Linear.fromWeights(first, rank, k, form);
    try {
      return new LowRankLinear(a, Linear.fromWeights(second, n, rank, { ...form, bias }), bias?.slice() ?? null);
    } catch (error) {
      a.dispose();
      throw error;
    }
  }

  /** Two ready layers (taken over: dispose() frees both); `first` must have no bias and first.n = second.k. */
  static fromLayers(first: Linear, second: Linear): LowRankLinear {
    const fn = 'LowRankLinear.fromLayers';
    if (!(first instanceof Linear)) fail('type', fn, 'first', 'a Linear', first);
    if (!(second instanceof Linear)) fail('type', fn, 'second', 'a Linear', second);
    if (first.bias) fail('range', fn, 'first', 'a Linear without a bias (the bias belongs to second)', 'a bias');
    if (first.n !== second.k) fail('range', fn, 'second.k', `first.n = ${first.n}`, second.k);
    return new LowRankLinear(first, second, second.bias);
  }

  protected run(x: Float32Array, m: number, out: Float32Array | undefined): Float32Array {
    return this.second.forward(this.first.forward(x, m), m, { out });
  }

  protected async runAsync(x: Float32Array, m: number, out: Float32Array | undefined): Promise<Float32Array> {
    return this.second.forwardAsync(await this.first.forwardAsync(x, m), m, { out });
  }

  /** B·A [n×k] in f64 sums rounded once to f32. */
  effectiveWeights(): Float32Array {
    const a = this.first.effectiveWeights(), b = this.second.effectiveWeights();
    const { n, k, rank } = this;
    const w = new Float32Array(n * k);
    const row = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      row.fill(0);
      for (let c = 0; c < rank; c++) {
        const bic = b[i * rank + c]!;
        if (bic !== 0) for (let j = 0; j < k; j++) row[j] = row[j]! + bic * a[c * k + j]!;
      }
      w.set(row, i * k);
    }
    return w;
  }

  dispose(): void {
    this.first.dispose();
    this.second.dispose();
  }
}
