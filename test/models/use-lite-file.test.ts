/**
 * The USE-lite variants of `sparq demo`, saved to GGUF and safetensors and opened again, embed
 * bit-identically to the models they were saved from. The toolkit's variants run with a small
 * calibration set (and low rank and k-means on a few layers) so the suite stays short; the forms
 * they leave are the demo's. Also: a q4_0 model's weights load as GGUF tensors a llama.cpp-family
 * reader understands (ggml type and shape), a malformed file is refused by name, and a saved model
 * lends its weights to the package model (sparq compress IN OUT).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_VARIANTS, TOOLKIT_VARIANTS } from '../../lib/cli/methods';
import { compress, type Recipe } from '../../lib/compress/compress';
import { calibrationSentences } from '../../lib/eval/evaluate';
import { openModel } from '../../lib/io/model-file';
import { saveSafetensors } from '../../lib/io/safetensors';
import { openUseLite, saveUseLite, withSavedWeights } from '../../lib/models/use-lite/file';
import { loadUseLite, type UseLite } from '../../lib/models/use-lite/model';

const dir = mkdtempSync(join(tmpdir(), 'sparq-use-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const texts = ['The cat sat on the mat.', 'Stock prices fell sharply on Monday after the report.', 'ünïcödé and numbers 12345'];

let f32: UseLite;
let calibration: string[];
beforeAll(() => {
  f32 = loadUseLite();
  calibration = calibrationSentences({ count: 16 });
});

// The toolkit rows, made quick: the same steps, with low rank and k-means on two layers.
function quick(recipe: Recipe): Recipe {
  return {
    steps: recipe.steps.map((step) => {
      if ('lowRank' in step) return { lowRank: { ...step.lowRank, layers: ['layer0.ffn1', 'tanh'] } };
      if ('cluster' in step) return { cluster: { ...step.cluster, iterations: 5, layers: ['layer1.ffn2', 'tanh'] } };
      return step;
    }),
  } as Recipe;
}

function roundTrip(label: string, model: UseLite) {
  const want = model.embed(texts);
  for (const ext of ['gguf', 'safetensors']) {
    const path = join(dir, `${label.replace(/[^a-z0-9]+/gi, '_')}.${ext}`);
    saveUseLite(model, path);
    const back = openUseLite(path);
    for (const [name, layer] of model.layers) {
      expect(back.layers.get(name)!.format, `${label} ${name}`).toBe(layer.format);
      expect(back.layers.get(name)!.byteLength, `${label} ${name}`).toBe(layer.byteLength);
    }
    expect(back.embed(texts), `${label} via ${ext}`).toEqual(want);
    back.dispose();
  }
}

describe('USE-lite saved and reloaded: identical embeddings', () => {
  for (const [label, how] of FORM_VARIANTS) {
    it(label, () => {
      const model = f32.withFormats(how as Exclude<typeof how, { recipe: Recipe }>);
      roundTrip(label, model);
      model.dispose();
    });
  }
  for (const [label, how] of TOOLKIT_VARIANTS) {
    it(label, () => {
      const { model } = compress(f32, quick((how as { recipe: Recipe }).recipe), calibration);
      roundTrip(label, model);
      model.dispose();
    }, 120_000);
  }
});

describe('USE-lite files', () => {
  it('q4_0 weights are GGUF q4_0 tensors [n, k] that a ggml reader maps as they are', () => {
    const model = f32.withFormats({ format: 'q4_0' });
    const path = join(dir, 'q4_0.gguf');
    saveUseLite(model, path);
    using file = openModel(path);
    expect(file.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'use-lite' });
    const info = file.tensor('layer0.ffn1.weight');
    const layer = model.layers.get('layer0.ffn1')!;
    expect(info.type).toBe('q4_0');
    expect(info.shape).toEqual([layer.n, layer.k]);
    expect(file.toFloat32('layer0.ffn1.weight')).toEqual(layer.effectiveWeights());
    expect(file.tensor('layer0.ffn1.bias').type).toBe('f32');
  });

  it('refuses a file that is not a saved USE-lite, naming it', () => {
    const path = join(dir, 'other.gguf');
    saveUseLite(f32.withFormats({ format: 'q8_0' }), path);
    expect(() => openUseLite(join(dir, 'missing.gguf'))).toThrow(/openModel: cannot read '.*missing\.gguf'/);
    const layerOnly = join(dir, 'layer.safetensors');
    saveSafetensors(layerOnly, [{ name: 'x', type: 'f32', shape: [1], data: new Float32Array(1) }]);
    expect(() => openUseLite(layerOnly)).toThrow(/openUseLite: '.*layer\.safetensors' has no string metadata general\.architecture/);
    expect(() => openUseLite(path).withFormats({ format: 'int8' })).toThrow(/one read from a saved file holds only its stored layers/);
  });

  it('a saved model lends its weights to the package model (what sparq compress IN OUT starts from)', () => {
    const q8 = f32.withFormats({ format: 'q8_0' });
    const path = join(dir, 'q8.gguf');
    saveUseLite(q8, path);
    const lent = withSavedWeights(f32, path);
    for (const [name, layer] of lent.layers) {
      expect(layer.constructor.name, name).toBe(f32.layers.get(name)!.constructor.name);
      expect(Buffer.from(layer.effectiveWeights().buffer).equals(Buffer.from(q8.layers.get(name)!.effectiveWeights().buffer)), name).toBe(true);
    }
    // The compression toolkit then starts from those weights, not the package's.
    const { model } = compress(lent, { steps: [{ quantize: { method: 'rtn', format: 'q8_0' } }] }, calibration);
    const again = model.layers.get('layer1.ffn1')!.effectiveWeights(), first = q8.layers.get('layer1.ffn1')!.effectiveWeights();
    expect(again.every((v, i) => v === first[i])).toBe(true); // q8_0 of q8_0's values gives them back
    for (const m of [q8, lent, model]) m.dispose();
  });

  it('refuses to lend a structurally pruned model, naming the file and the layer', () => {
    const half = Int32Array.from({ length: 768 }, (_, i) => 2 * i);
    const pruned = f32.withFormats((name) => ({ format: 'f32', ...(name === 'layer0.ffn1' ? { rows: half } : name === 'layer0.ffn2' ? { columns: half } : {}) }));
    const path = join(dir, 'pruned.safetensors');
    saveUseLite(pruned, path);
    expect(() => withSavedWeights(f32, path)).toThrow(/withSavedWeights: '.*pruned.safetensors' layer layer0.ffn1 is 768×512, the model's is 1536×512/);
    pruned.dispose();
  });
});
