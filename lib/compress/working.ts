/**
 * What `compress` keeps of each layer between steps: its current f32 weights and how they will be
 * stored, plus the shape bookkeeping of structured steps, and helpers on them.
 */
import { headLanes, type Factor, type LayerChoice } from '../models/use-lite/model';

export interface Working {
  w: Float32Array;
  n: number;
  k: number;
  rows?: Int32Array;
  columns?: Int32Array;
  /** Attention layers: which one, the heads kept, and their width. */
  role?: 'qkv' | 'out';
  heads?: Int32Array;
  depth?: number;
  pruned: boolean;
  methods: string[];
  choice?: LayerChoice;
  /** Set by a lowRank step: W ≈ second·first (w holds that product); `choice` then says the factors' form. */
  lowRank?: { rank: number; first: Float32Array; second: Float32Array; method: string; factors?: [Factor, Factor] };
}

/** The given rows of W [·×k]. */
export function selectRows(w: Float32Array, k: number, rows: Int32Array): Float32Array {
  return Float32Array.from({ length: rows.length * k }, (_, i) => w[rows[Math.floor(i / k)]! * k + (i % k)]!);
}

/** The given columns of W [n×k]. */
export function selectColumns(w: Float32Array, n: number, k: number, columns: Int32Array): Float32Array {
  return Float32Array.from({ length: n * columns.length }, (_, i) => w[Math.floor(i / columns.length) * k + columns[i % columns.length]!]!);
}

/** Indices `keep` of a selection that already kept `before` (or all). */
export function compose(before: Int32Array | undefined, keep: Int32Array): Int32Array {
  return before ? Int32Array.from(keep, (i) => before[i]!) : keep;
}

/** The layer's working weights at the file's shape [n×k], removed rows and columns (neurons, heads) as zeros. */
export function expand(w: Float32Array, l: Working, n: number, k: number): Float32Array {
  if (!l.rows && !l.columns && !l.heads) return w;
  const out = new Float32Array(n * k);
  let rows = l.rows ?? Int32Array.from({ length: n }, (_, i) => i), columns = l.columns ?? Int32Array.from({ length: k }, (_, j) => j);
  if (l.heads) {
    const lanes = headLanes(l.heads, l.depth!, l.role === 'qkv' ? n / 3 : k);
    if (l.role === 'qkv') rows = lanes.rows;
    else columns = lanes.columns;
  }
  rows.forEach((i, a) => columns.forEach((j, b) => (out[i * k + j] = w[a * columns.length + b]!)));
  return out;
}

