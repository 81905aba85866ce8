/**
 * Calibration: run real inputs through a model and keep, per Linear, what the data-aware
 * compression methods need of its inputs X [rows×k]:
 *
 *   sumSquares   diag(XᵀX), in f64: the per-input-channel importance (Wanda's ‖Xⱼ‖₂², llama.cpp's
 *                imatrix as sumSquares/rows)
 *   gram         XᵀX [k×k] for k ≤ gramMaxK (GPTQ's and SparseGPT's Hessian, up to a factor 2):
 *                each batch's product on sparq's f32 GEMM (sums of one batch's rows), accumulated
 *                across batches in f64
 *   activations  the inputs' exact min and max and a histogram (lib/compress/ranges.ts), from which
 *                static activation ranges for the int8 layer are chosen (minmax, percentile, MSE, KL)
 *
 * Any model whose layers are Linears and that can hand each layer's call to a hook (`Traceable`)
 * can be calibrated; USE-lite is one (`forwardWith`). The result is serializable (`toBytes` /
 * `Calibration.fromBytes`), so calibration runs once.
 */
import { gemmF32 } from '../dense';
import type { Linear } from '../nn/linear';
import { fail, int, options } from '../validate';
import { addToStats, emptyStats, HISTOGRAM_BINS, type ActivationStats } from './ranges';

/** A model built of named Linears whose forward pass can hand each layer's call to `project`. */
export interface Traceable<I> {
  readonly layers: ReadonlyMap<string, Linear>;
  forwardWith(inputs: readonly I[], project: (name: string, layer: Linear, x: Float32Array, rows: number) => Float32Array): unknown;
}

export interface LayerCalibration {
  name: string;
  n: number;
  k: number;
  /** Input rows seen. */
  rows: number;
  /** diag(XᵀX), k values. */
  sumSquares: Float64Array;
  /** XᵀX [k×k], row-major; null when k > gramMaxK. */
  gram: Float64Array | null;
  /** The inputs' extremes and histogram (for static activation ranges). */
  activations: ActivationStats;
}

export interface CalibrateOptions {
  /** Inputs per forward pass (default 32). */
  batchSize?: number;
  /** Largest k whose full Gram matrix is kept (default 4096). */
  gramMaxK?: number;
  onProgress?: (done: number, total: number) => void;
}

const MAGIC = 'sparq-calibration-2';

export class Calibration {
  readonly layers: ReadonlyMap<string, LayerCalibration>;

  constructor(layers: Iterable<LayerCalibration>) {
    this.layers = new Map([...layers].map((l) => [l.name, l]));
  }

  /** The layer's statistics; a RangeError naming it when the calibration has none. */
  layer(name: string): LayerCalibration {
    return this.layers.get(name) ?? fail('range', 'Calibration', 'layer', `one of ${[...this.layers.keys()].join(', ')}`, name);
  }

  /** ‖Xⱼ‖₂ per input channel j of the layer (Wanda's activation norm). */
  norms(name: string): Float64Array {
    return this.layer(name).sumSquares.map(Math.sqrt);
  }

  /** Throws a RangeError unless the calibration was made on a model with these layers and shapes. */
  check(fn: string, layers: ReadonlyMap<string, Linear>): void {
    for (const [name, layer] of layers) {
      const c = this.layers.get(name);
      if (!c) fail('range', fn, 'calibration', `statistics for layer ${name} (a calibration of this model)`, [...this.layers.keys()].join(', '));
      if (c.n !== layer.n || c.k !== layer.k) fail('range', fn, 'calibration', `layer ${name} of ${layer.n}×${layer.k} (a calibration of this model)`, `${c.n}×${c.k}`);
    }
  }

  /** A JSON header (names, shapes, rows, extremes, byte offsets) then the f64 data, little-endian. */
  toBytes(): Uint8Array {
    const entries: object[] = [];
    let offset = 0;
    for (const l of this.layers.values()) {
      const { min, max, range } = l.activations;
      const histogram = offset + l.k * 8 + (l.gram ? l.k * l.k * 8 : 0);
      entries.push({ name: l.name, n: l.n, k: l.k, rows: l.rows, sumSquares: offset, gram: l.gram ? offset + l.k * 8 : null, min, max, range, histogram });
      offset = histogram + HISTOGRAM_BINS * 8;
    }
    const header = new TextEncoder().encode(JSON.stringify({ magic: MAGIC, layers: entries }));
    const start = 8 + header.length + ((8 - (header.length % 8)) % 8);
    const bytes = new Uint8Array(start + offset);
    new DataView(bytes.buffer).setUint32(0, header.length, true);
    bytes.set(header, 8);
    const data = new Float64Array(bytes.buffer, start);
    let at = 0;
    for (const l of this.layers.values()) {
      data.set(l.sumSquares, at);
      at += l.k;
      if (l.gram) data.set(l.gram, at), (at += l.k * l.k);
      data.set(l.activations.histogram, at);
      at += HISTOGRAM_BINS;
    }
    return bytes;
  }

  /** Reads what {@link toBytes} wrote; every length and offset is checked before anything is read. */
  static fromBytes(bytes: Uint8Array): Calibration {
    const fn = 'Calibration.fromBytes';
    if (!(bytes instanceof Uint8Array) || bytes.length < 8) fail('type', fn, 'bytes', 'a Uint8Array written by Calibration.toBytes', bytes);
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    if (8 + length > bytes.length) fail('range', fn, 'bytes', `a header of ${length} bytes within the ${bytes.length} given`, length);
    let header: { magic?: unknown; layers?: unknown };
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + length)));
    } catch {
      return fail('range', fn, 'bytes', 'a JSON header', 'bytes that are not');
    }
    if (header?.magic !== MAGIC || !Array.isArray(header.layers)) fail('range', fn, 'bytes', `a header with magic ${MAGIC}`, header?.magic);
    const start = 8 + length + ((8 - (length % 8)) % 8);
    const data = bytes.slice(start); // aligned copy
    const values = new Float64Array(data.buffer, 0, Math.floor(data.length / 8));
    const layers = (header.layers as Array<Record<string, unknown>>).map((entry, i) => {
      const at = `layers[${i}]`;
      const n = int(fn, `${at}.n`, entry['n'], 1), k = int(fn, `${at}.k`, entry['k'], 1, 1 << 16);
      const rows = int(fn, `${at}.rows`, entry['rows'], 0, Number.MAX_SAFE_INTEGER);
      const read = (offset: unknown, count: number, what: string) => {
        const o = int(fn, `${at}.${what}`, offset, 0, Number.MAX_SAFE_INTEGER);
        if (o % 8 !== 0 || o / 8 + count > values.length) fail('range', fn, `${at}.${what}`, `an 8-byte aligned offset with ${count} values inside the data`, o);
        return values.slice(o / 8, o / 8 + count);
      };
      if (typeof entry['name'] !== 'string') fail('type', fn, `${at}.name`, 'a string', entry['name']);
      const finite = (what: string) => {
        const v = entry[what];
        if (typeof v !== 'number' || !Number.isFinite(v)) fail('range', fn, `${at}.${what}`, 'a finite number', v);
        return v;
      };
      const min = finite('min'), max = finite('max'), range = finite('range');
      if (!(min <= 0 && max >= 0 && range >= 0 && range >= Math.max(-min, max))) fail('range', fn, `${at}.range`, `min ≤ 0 ≤ max and max(−min, max) ≤ range`, [min, max, range].join(', '));
      return {
        name: entry['name'],
        n,
        k,
        rows,
        sumSquares: read(entry['sumSquares'], k, 'sumSquares'),
        gram: entry['gram'] === null ? null : read(entry['gram'], k * k, 'gram'),
        activations: { min, max, range, histogram: read(entry['histogram'], HISTOGRAM_BINS, 'histogram') },
      };
    });
    return new Calibration(layers);
  }
}

/** XᵀX of one batch X [rows×k], by the f32 GEMM (Xᵀ copied out once), added into gram (f64). */
function addGram(x: Float32Array, rows: number, k: number, gram: Float64Array): void {
  const xt = new Float32Array(k * rows);
  for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) xt[j * rows + r] = x[r * k + j]!;
  const product = gemmF32(xt, x, k, k, rows);
  for (let i = 0; i < k * k; i++) gram[i] = gram[i]! + product[i]!;
}

/** Runs `inputs` through `model` in batches and collects every Linear's input statistics. */
export function calibrate<I>(model: Traceable<I>, inputs: readonly I[], opts?: CalibrateOptions): Calibration {
  const fn = 'calibrate';
  const o = options<CalibrateOptions>(fn, opts);
  if (!Array.isArray(inputs) || inputs.length === 0) fail('type', fn, 'inputs', 'a non-empty array', inputs);
  const batchSize = int(fn, 'batchSize', o.batchSize ?? 32, 1);
  const gramMaxK = int(fn, 'gramMaxK', o.gramMaxK ?? 4096, 0);
  const stats = new Map<string, LayerCalibration>();
  for (const [name, layer] of model.layers) {
    stats.set(name, {
      name,
      n: layer.n,
      k: layer.k,
      rows: 0,
      sumSquares: new Float64Array(layer.k),
      gram: layer.k <= gramMaxK ? new Float64Array(layer.k * layer.k) : null,
      activations: emptyStats(),
    });
  }
  for (let i = 0; i < inputs.length; i += batchSize) {
    model.forwardWith(inputs.slice(i, i + batchSize), (name, layer, x, rows) => {
      const s = stats.get(name)!;
      const k = layer.k;
      s.rows += rows;
      for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) s.sumSquares[j] = s.sumSquares[j]! + x[r * k + j]! * x[r * k + j]!;
      if (s.gram && rows > 0) addGram(x, rows, k, s.gram);
      addToStats(s.activations, x, rows * k);
      return layer.forward(x, rows);
    });
    o.onProgress?.(Math.min(i + batchSize, inputs.length), inputs.length);
  }
  return new Calibration(stats.values());
}
