/**
 * The rows of `sparq demo`: USE-lite's dense layers in each weight form (no data needed), then the
 * compression toolkit's methods, which calibrate on real sentences (lib/compress, each a recipe run
 * by `compress`). The default demo shows a few of those; `sparq demo --methods` runs the whole
 * comparison of docs/compress.md: every pruning criterion and pattern, structured pruning, every
 * quantizer per format, static activation ranges, mixed precision at q4_0's size, and low-rank
 * factorization by each method at 75% and 50% of the weights, and k-means weight sharing by bits and
 * codebook granularity.
 */
import type { Recipe } from '../compress/compress';
import type { FormatChoice } from '../compress/mixed';
import type { LayerFormats } from '../models/use-lite/model';
import { magnitudeThreshold } from '../nn/prune';

export type DemoVariant = [label: string, how: LayerFormats | { recipe: Recipe }];

const pruned = (sparsity: number, format: 'csr' | 'csr-int8'): LayerFormats => (_, w) => ({ format, threshold: magnitudeThreshold(w, sparsity) });
const steps = (...s: Recipe['steps']) => ({ recipe: { steps: s } });
/** The candidates mixed precision chooses from (nf4 with larger blocks is what can go below q4_0). */
const MIXED_FORMATS: FormatChoice[] = ['q4_0', 'q4_1', 'q8_0', 'int8', { format: 'nf4', blockSize: 128 }, { format: 'nf4', blockSize: 256 }];

/** Every form a layer is stored in, from the file's weights alone. */
export const FORM_VARIANTS: DemoVariant[] = [
  ['f32', { format: 'f32' }],
  ['int8 per-channel', { format: 'int8' }],
  ['q8_0', { format: 'q8_0' }],
  ['q4_0', { format: 'q4_0' }],
  ['q4_1', { format: 'q4_1' }],
  ['q4_K (ggml K-quant)', { format: 'q4_K' }],
  ['q6_K (ggml K-quant)', { format: 'q6_K' }],
  ['nf4', { format: 'nf4' }],
  ['CSR, 50% pruned', pruned(0.5, 'csr')],
  ['CSR, 70% pruned', pruned(0.7, 'csr')],
  ['CSR, 90% pruned', pruned(0.9, 'csr')],
  ['CSR int8, 70% pruned', pruned(0.7, 'csr-int8')],
];

/** What the default demo adds: the toolkit's strongest results, one or two per technique. */
export const TOOLKIT_VARIANTS: DemoVariant[] = [
  ['int8, static ranges (MSE)', steps({ quantize: { format: 'int8', activations: 'mse' } })],
  ['int8, GPTQ', steps({ quantize: { method: 'gptq', format: 'int8' } })],
  ['q4_0, GPTQ', steps({ quantize: { method: 'gptq', format: 'q4_0' } })],
  ['mixed at q4_0 size, GPTQ', steps({ mixed: { budget: 'q4_0', formats: MIXED_FORMATS, method: 'gptq' } })],
  ['CSR, 50% SparseGPT', steps({ prune: { criterion: 'sparsegpt', sparsity: 0.5 } })],
  ['FFN neurons −25%, refit', steps({ neurons: { fraction: 0.25, refit: true } })],
  ['heads −25%, refit', steps({ heads: { fraction: 0.25, refit: true } })],
  ['low rank 75%, whitened', steps({ lowRank: { method: 'whiten', fraction: 0.75 } })],
  ['k-means 4-bit per row', steps({ cluster: { bits: 4, granularity: 'row' } })],
];

/** `sparq demo --methods`: the whole comparison. */
export function methodVariants(): DemoVariant[] {
  const rows: DemoVariant[] = [['f32', { format: 'f32' }]];
  const criteria = ['magnitude', 'wanda', 'sparsegpt'] as const;
  for (const [pattern, prune] of [
    ['50%', { sparsity: 0.5 }],
    ['70%', { sparsity: 0.7 }],
    ['90%', { sparsity: 0.9 }],
    ['2:4', { n: 2, m: 4 }],
    ['4:8', { n: 4, m: 8 }],
  ] as const) {
    for (const criterion of criteria) rows.push([`prune ${pattern} ${criterion}`, steps({ prune: { criterion, ...prune } })]);
    if ('sparsity' in prune) rows.push([`prune ${pattern} magnitude, global`, steps({ prune: { criterion: 'magnitude', ...prune, scope: 'global' } })]);
  }
  for (const fraction of [0.25, 0.5]) {
    for (const [unit, key] of [['FFN neurons', 'neurons'], ['heads', 'heads']] as const) {
      for (const [how, options] of [['magnitude', { criterion: 'magnitude' }], ['activation', { criterion: 'activation' }], ['activation, refit', { criterion: 'activation', refit: true }]] as const) {
        rows.push([`${unit} −${fraction * 100}% ${how}`, steps({ [key]: { fraction, ...options } } as Recipe['steps'][number])]);
      }
    }
  }
  for (const format of ['q8_0', 'q4_0', 'q4_1'] as const) {
    for (const method of ['rtn', 'weighted', 'gptq'] as const) rows.push([`${format} ${method}`, steps({ quantize: { method, format } })]);
  }
  rows.push(['int8 rtn (dynamic)', steps({ quantize: { format: 'int8' } })]);
  rows.push(['int8 gptq', steps({ quantize: { method: 'gptq', format: 'int8' } })]);
  for (const range of ['minmax', 'percentile', 'mse', 'kl'] as const) rows.push([`int8 static ${range}`, steps({ quantize: { format: 'int8', activations: range } })]);
  rows.push(['mixed at q4_0 size, rtn', steps({ mixed: { budget: 'q4_0', formats: MIXED_FORMATS } })]);
  rows.push(['mixed at q4_0 size, gptq', steps({ mixed: { budget: 'q4_0', formats: MIXED_FORMATS, method: 'gptq' } })]);
  for (const fraction of [0.75, 0.5]) {
    for (const method of ['svd', 'asvd', 'whiten'] as const) rows.push([`low rank ${fraction * 100}% ${method}`, steps({ lowRank: { method, fraction } })]);
  }
  for (const [bits, granularity] of [[8, 'tensor'], [5, 'tensor'], [4, 'tensor'], [4, 8], [4, 'row'], [3, 'row'], [2, 'row']] as const) {
    rows.push([`k-means ${bits}-bit per ${granularity === 8 ? '8 rows' : granularity}`, steps({ cluster: { bits, granularity } })]);
  }
  rows.push(['k-means 4-bit per row, unweighted', steps({ cluster: { bits: 4, granularity: 'row', weighted: false } })]);
  rows.push(['Wanda 70% + distill', steps({ prune: { criterion: 'wanda', sparsity: 0.7 } }, { distill: {} })]);
  rows.push(['SparseGPT 70% + distill', steps({ prune: { criterion: 'sparsegpt', sparsity: 0.7 } }, { distill: {} })]);
  rows.push(['low rank 50% whiten + distill', steps({ lowRank: { fraction: 0.5 } }, { distill: {} })]);
  rows.push(['low rank 75% whiten, q8_0 gptq', steps({ lowRank: { fraction: 0.75 } }, { quantize: { method: 'gptq', format: 'q8_0' } })]);
  return rows;
}
