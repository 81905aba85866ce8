/**
 * USE-lite in one model file (GGUF or safetensors, by the name's extension): the ten dense layers
 * in whatever forms compression left them (lib/io/linear-file.ts names their tensors: layer0.qkv.*
 * … tanh.*), the other tensors the forward pass reads as use_lite.graph.<i> with their graph names
 * in order in the metadata sparq.use_lite.graph_names (a JSON array), and the tokenizer's
 * [piece, score] pairs in sparq.use_lite.vocabulary (JSON). general.architecture is "use-lite".
 * openUseLite reads it back; the block-format layers are adopted from the mapping without copies.
 */
import { saveGguf, type GgufValue } from '../../io/gguf';
import { linearTensors, readLinear } from '../../io/linear-file';
import { formatOfName, openModel } from '../../io/model-file';
import { saveSafetensors } from '../../io/safetensors';
import type { TensorData } from '../../io/tensor';
import type { Linear } from '../../nn/linear';
import { USE_LITE_LAYERS, UseLite, type UseLiteLayer } from './model';
import { UseTokenizer, type Vocabulary } from './tokenizer';
import type { Tensor } from './weights';

const ARCHITECTURE = 'use-lite';

/** Saves `model` (any layer forms) to `path`: GGUF for .gguf, safetensors for .safetensors. */
export function saveUseLite(model: UseLite, path: string): void {
  const format = formatOfName(path);
  if (format === null) throw new RangeError(`saveUseLite: expected path: a name ending .gguf or .safetensors, received '${path}'`);
  const out: { tensors: TensorData[]; metadata: Record<string, string> } = { tensors: [], metadata: {} };
  out.metadata['general.architecture'] = ARCHITECTURE;
  for (const name of USE_LITE_LAYERS) linearTensors(name, model.layers.get(name)!, out, format);
  const names: string[] = [];
  for (const [name, t] of model.graphTensors()) {
    out.tensors.push({ name: `use_lite.graph.${names.length}`, type: t.data instanceof Int32Array ? 'i32' : 'f32', shape: t.shape, data: t.data });
    names.push(name);
  }
  out.metadata['sparq.use_lite.graph_names'] = JSON.stringify(names);
  out.metadata['sparq.use_lite.vocabulary'] = JSON.stringify(model.tokenizer.vocabulary);
  if (format === 'gguf') saveGguf(path, out.tensors, { metadata: new Map(Object.entries(out.metadata).map(([k, value]): [string, GgufValue] => [k, { type: 'string', value }])) });
  else saveSafetensors(path, out.tensors, out.metadata);
}

/** USE-lite from a file written by {@link saveUseLite}. */
export function openUseLite(path: string): UseLite {
  const fn = 'openUseLite';
  using file = openModel(path);
  const text = (key: string): string => {
    const v = file.metadata.get(key);
    if (v?.type !== 'string') throw new RangeError(`${fn}: '${path}' has no string metadata ${key} (not a file saveUseLite wrote)`);
    return v.value;
  };
  if (text('general.architecture') !== ARCHITECTURE) throw new RangeError(`${fn}: '${path}' is a ${text('general.architecture')} model, not ${ARCHITECTURE}`);
  const parse = (key: string): unknown => {
    try {
      return JSON.parse(text(key));
    } catch (e) {
      throw new RangeError(`${fn}: '${path}' metadata ${key} is not JSON (${(e as Error).message})`);
    }
  };
  const names = parse('sparq.use_lite.graph_names');
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new RangeError(`${fn}: '${path}' metadata sparq.use_lite.graph_names is not an array of names`);
  const tensors = new Map<string, Tensor>();
  names.forEach((name: string, i) => {
    const info = file.tensor(`use_lite.graph.${i}`);
    const data = info.type === 'i32' ? new Int32Array(file.bytes(info.name).buffer) : file.toFloat32(info.name);
    tensors.set(name, { shape: [...info.shape], data });
  });
  const layers = new Map<UseLiteLayer, Linear>();
  try {
    for (const name of USE_LITE_LAYERS) layers.set(name, readLinear(file, name));
    return new UseLite(tensors, new UseTokenizer(parse('sparq.use_lite.vocabulary') as Vocabulary), {}, layers);
  } catch (error) {
    for (const layer of layers.values()) layer.dispose();
    throw error;
  }
}

/**
 * `f32` (the package's model) with the dense weights of a USE-lite sparq saved to `path`, in f32
 * (whatever form they are stored in: their effective weights): what `sparq compress IN OUT`
 * starts from. sparq's compression changes only those weights, so the rest (the graph, the
 * biases) must be the package's; a layer of another shape (structured pruning) or another bias is
 * refused, naming the file and the layer.
 */
export function withSavedWeights(f32: UseLite, path: string): UseLite {
  const saved = openUseLite(path);
  try {
    return f32.withFormats((name, _w, n, k) => {
      const layer = saved.layers.get(name);
      const bias = f32.layers.get(name)!.bias, savedBias = layer?.bias;
      if (!layer || layer.n !== n || layer.k !== k)
        throw new RangeError(`withSavedWeights: '${path}' layer ${name} is ${layer ? `${layer.n}×${layer.k}` : 'missing'}, the model's is ${n}×${k} (a structurally pruned model is not compressed again)`);
      if (!bias !== !savedBias || (bias && savedBias && bias.some((v, i) => !Object.is(v, savedBias[i]))))
        throw new RangeError(`withSavedWeights: '${path}' layer ${name} has another bias than the model's (not a USE-lite sparq saved)`);
      return { format: 'f32', weights: layer.effectiveWeights() };
    });
  } finally {
    saved.dispose();
  }
}
