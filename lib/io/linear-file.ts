/**
 * Linear layers in model files: every weight form sparq has, under documented tensor names and
 * string metadata (the same in GGUF and safetensors), so a compressed model saves and reloads to
 * identical outputs. For a layer saved under prefix P (docs/files.md, "Compressed layers"):
 *
 *   sparq.P.form            the Linear format: f32, int8, q8_0, q4_0, q4_1, q4_K, q5_K, q6_K, nf4,
 *                           int8-block, csr, csr-int8, clustered, lowrank
 *   P.weight                f32 [n,k] | in GGUF ggml q8_0/q4_0/q4_1/q4_K/q5_K/q6_K [n,k] (llama.cpp-readable) |
 *                           i8 codes [n,k] (int8) | the format's bytes as i8 [n, rowBytes] (nf4,
 *                           int8-block, and the ggml blocks in safetensors) or [byteLength] (clustered)
 *   P.scale                 f32 [n]: int8's per-row scales; csr-int8's per-row scales
 *   P.indptr P.indices P.values   csr: i32 [n+1], i32 [nnz], f32 or i8 [nnz]
 *   P.a.* P.b.*             lowrank: the two factor layers, each saved as a layer
 *   P.bias                  f32 [n], when the layer has one
 *   sparq.P.n, .k, and per form .precision, .block_size, .activation_scale,
 *   .activation_zero_point, .index_bits, .bits, .group_rows
 *
 * GGUF has no u8 type, so raw format bytes are stored as i8 (the same bytes). Reading adopts the
 * ggml block tensors zero-copy and packs f32 straight from the mapping; the other forms copy.
 */
import { PackedF32Matrix } from '../dense';
import { ClusteredMatrix } from '../cluster';
import { LinearInt8 } from '../gemm';
import { Linear } from '../nn/linear';
import { LowRankLinear } from '../nn/lowrank';
import { QuantizedMatrix } from '../quant';
import { CsrMatrix } from '../sparse';
import type { ModelFile, ModelFormat } from './model-file';
import type { TensorData } from './tensor';

type Metadata = Record<string, string>;
const bytesOf = (v: ArrayBufferView) => new Int8Array(v.buffer, v.byteOffset, v.byteLength);
// The matrix a Linear of each form holds (the classes keep it as `weight`).
const inner = <T>(layer: Linear) => (layer as unknown as { weight: T }).weight;

/** The tensors and metadata of `layer` saved under `prefix`, appended to `out`. */
export function linearTensors(prefix: string, layer: Linear, out: { tensors: TensorData[]; metadata: Metadata }, format: ModelFormat): void {
  const { n, k } = layer;
  const form = layer.format;
  const meta = (key: string, value: string | number) => (out.metadata[`sparq.${prefix}.${key}`] = String(value));
  const tensor = (name: string, type: TensorData['type'], shape: number[], data: ArrayBufferView) =>
    out.tensors.push({ name: `${prefix}.${name}`, type, shape, data });
  meta('form', form);
  meta('n', n);
  meta('k', k);
  switch (form) {
    case 'f32':
      tensor('weight', 'f32', [n, k], inner<PackedF32Matrix>(layer).toArray());
      break;
    case 'int8': {
      const w = inner<LinearInt8>(layer);
      const { weight, scale } = w.toArrays();
      tensor('weight', 'i8', [n, k], weight);
      tensor('scale', 'f32', [n], scale);
      if (w.activations) {
        meta('activation_scale', w.activations.scale);
        meta('activation_zero_point', w.activations.zeroPoint);
      }
      break;
    }
    case 'q8_0':
    case 'q4_0':
    case 'q4_1':
    case 'q4_K':
    case 'q5_K':
    case 'q6_K':
    case 'nf4':
    case 'int8-block': {
      const q = inner<QuantizedMatrix>(layer);
      const precision = (layer as unknown as { precision?: string }).precision;
      if (precision) meta('precision', precision);
      meta('block_size', q.blockSize);
      const bytes = q.toBytes();
      if (form !== 'nf4' && form !== 'int8-block' && format === 'gguf') tensor('weight', form, [n, k], bytes);
      else tensor('weight', 'i8', [n, bytes.length / n], bytesOf(bytes));
      break;
    }
    case 'csr':
    case 'csr-int8': {
      const csr = inner<CsrMatrix>(layer);
      const { indptr, indices, values, scales } = csr.toArrays();
      meta('index_bits', csr.indexBits);
      tensor('indptr', 'i32', [n + 1], indptr);
      tensor('indices', 'i32', [indices.length], indices);
      tensor('values', values instanceof Int8Array ? 'i8' : 'f32', [values.length], values);
      if (scales) tensor('scale', 'f32', [n], scales);
      break;
    }
    case 'clustered': {
      const c = inner<ClusteredMatrix>(layer);
      meta('bits', c.bits);
      meta('group_rows', c.groupRows);
      tensor('weight', 'i8', [c.byteLength], bytesOf(c.toBytes()));
      break;
    }
    case 'lowrank': {
      const low = layer as LowRankLinear;
      linearTensors(`${prefix}.a`, low.first, out, format);
      linearTensors(`${prefix}.b`, low.second, out, format);
      // The bias is the second factor's; it is saved with it, not again here.
      return;
    }
    default:
      throw new RangeError(`linearTensors: expected a Linear of a form sparq saves, received format '${form}'`);
  }
  const bias = layer.bias;
  if (bias) tensor('bias', 'f32', [n], bias);
}

/** The Linear saved under `prefix` in `file` (see the layout above). */
export function readLinear(file: ModelFile, prefix: string): Linear {
  const fn = 'readLinear';
  const text = (key: string): string => {
    const v = file.metadata.get(`sparq.${prefix}.${key}`);
    if (v?.type !== 'string') throw new RangeError(`${fn}: '${file.path}' has no string metadata sparq.${prefix}.${key}`);
    return v.value;
  };
  const number = (key: string): number => {
    const v = Number(text(key));
    if (!Number.isFinite(v)) throw new RangeError(`${fn}: '${file.path}' metadata sparq.${prefix}.${key} is not a number`);
    return v;
  };
  const floats = (name: string) => file.toFloat32(`${prefix}.${name}`);
  const raw = (name: string) => file.bytes(`${prefix}.${name}`);
  const form = text('form');
  const n = number('n');
  const k = number('k');
  const bias = file.has(`${prefix}.bias`) ? floats('bias') : undefined;
  const check = (layer: Linear) => {
    if (layer.n !== n || layer.k !== k) throw new RangeError(`${fn}: '${file.path}' layer ${prefix} is ${layer.n}×${layer.k}, its metadata says ${n}×${k}`);
    return layer;
  };
  switch (form) {
    case 'f32':
      return check(Linear.wrap(file.packed(`${prefix}.weight`), { bias }));
    case 'int8': {
      const weight = new Int8Array(raw('weight').buffer);
      const activations = file.metadata.has(`sparq.${prefix}.activation_scale`) ? { scale: number('activation_scale'), zeroPoint: number('activation_zero_point') } : undefined;
      return check(Linear.wrap(LinearInt8.fromArrays(weight, floats('scale'), n, k, { bias, activations })));
    }
    case 'q8_0':
    case 'q4_0':
    case 'q4_1':
    case 'q4_K':
    case 'q5_K':
    case 'q6_K':
    case 'nf4':
    case 'int8-block': {
      const precision = file.metadata.has(`sparq.${prefix}.precision`) ? (text('precision') as 'int8' | 'f32') : undefined;
      // ggml blocks in a GGUF are adopted from the mapping; format bytes stored as i8 are copied.
      const matrix =
        file.tensor(`${prefix}.weight`).type === form
          ? file.quantized(`${prefix}.weight`)
          : QuantizedMatrix.fromBytes(form === 'nf4' ? 'nf4' : form === 'int8-block' ? 'int8' : form, n, k, raw('weight'), { blockSize: number('block_size') });
      return check(Linear.wrap(matrix, { bias, precision }));
    }
    case 'csr':
    case 'csr-int8': {
      const ints = (name: string) => new Int32Array(raw(name).buffer);
      const values = form === 'csr' ? floats('values') : new Int8Array(raw('values').buffer);
      const scales = form === 'csr-int8' ? floats('scale') : undefined;
      const csr = CsrMatrix.fromArrays(n, k, ints('indptr'), ints('indices'), values, { indexBits: number('index_bits') as 16 | 32, scales });
      return check(Linear.wrap(csr, { bias }));
    }
    case 'clustered':
      return check(Linear.wrap(ClusteredMatrix.fromBytes(raw('weight'), n, k, { bits: number('bits'), groupRows: number('group_rows') }), { bias }));
    case 'lowrank':
      return check(LowRankLinear.fromLayers(readLinear(file, `${prefix}.a`), readLinear(file, `${prefix}.b`)));
    default:
      throw new RangeError(`${fn}: '${file.path}' layer ${prefix} has an unknown form '${form}'`);
  }
}
