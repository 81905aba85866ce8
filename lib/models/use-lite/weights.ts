/**
 * USE-lite's weights, read straight from the TF.js graph model's files: model.json's
 * weightsManifest lists every tensor (name, dtype, shape) in the order its bytes follow one another
 * through the shards, which are concatenated in the order the manifest lists them. No TensorFlow is
 * loaded. Every count is checked against the bytes there are before anything is read.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { useLiteDirectory } from './files';

export interface Tensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

interface ManifestEntry {
  name: string;
  dtype: string;
  shape: number[];
}

const fn = 'readUseLiteWeights';

function invalid(file: string, what: string): never {
  throw new RangeError(`${fn}: ${file}: ${what}`);
}

/** Every tensor of the model by its graph name. */
export function readUseLiteWeights(dir?: string): Map<string, Tensor> {
  const root = useLiteDirectory(dir);
  const file = path.join(root, 'model.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { weightsManifest?: Array<{ paths?: unknown; weights?: unknown }> };
  const groups = json.weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) invalid(file, 'no weightsManifest');
  const tensors = new Map<string, Tensor>();
  for (const [g, group] of groups.entries()) {
    const { paths, weights } = group;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && path.basename(p) === p)) {
      invalid(file, `weightsManifest[${g}].paths: expected file names in the model's directory`);
    }
    if (!Array.isArray(weights)) invalid(file, `weightsManifest[${g}].weights: expected an array`);
    const bytes = Buffer.concat((paths as string[]).map((p) => readFileSync(path.join(root, p))));
    let offset = 0;
    for (const [w, entry] of (weights as ManifestEntry[]).entries()) {
      const where = `weightsManifest[${g}].weights[${w}]`;
      if (typeof entry?.name !== 'string' || !Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        invalid(file, `${where}: expected { name, dtype, shape }`);
      }
      if (entry.dtype !== 'float32' && entry.dtype !== 'int32') invalid(file, `${where} (${entry.name}): dtype ${String(entry.dtype)} is not float32 or int32`);
      const count = entry.shape.reduce((a, d) => a * d, 1);
      if (!Number.isSafeInteger(count) || offset + 4 * count > bytes.length) {
        invalid(file, `${where} (${entry.name}): ${count} values at byte ${offset} run past the ${bytes.length} bytes of the shards`);
      }
      // A copy, aligned and owned: the shards' buffer is dropped once every tensor is read.
      const copy = new Uint8Array(bytes.subarray(offset, offset + 4 * count)).buffer;
      tensors.set(entry.name, { shape: entry.shape, data: entry.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy) });
      offset += 4 * count;
    }
    if (offset !== bytes.length) invalid(file, `weightsManifest[${g}] describes ${offset} bytes but its shards hold ${bytes.length}`);
  }
  return tensors;
}
