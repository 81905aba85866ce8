/**
 * sparq's USE-lite tokenizer against the model's own runtime (@energetic-ai/embeddings, a
 * devDependency), token for token: every sentence of a seeded sample of the Brown corpus, and
 * strings chosen for the rules (NFKC, spaces, unknown characters and their runs, astral code
 * points, empty input).
 */
import { describe, expect, it } from 'vitest';
import { readBrown } from '../../lib/data/brown';
import { readUseLiteVocabulary } from '../../lib/models/use-lite/files';
import { UseTokenizer } from '../../lib/models/use-lite/tokenizer';
import { expectThrows } from '../helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { EmbeddingsModel } = require('@energetic-ai/embeddings') as {
  EmbeddingsModel: new (data: { vocabulary: unknown; model: unknown }) => { tokenizer: { encode(text: string): number[] } };
};

const vocabulary = readUseLiteVocabulary();
const ours = new UseTokenizer(vocabulary);
const theirs = new EmbeddingsModel({ vocabulary, model: null }).tokenizer;

function expectSameIds(text: string): void {
  expect(Array.from(ours.encode(text)), JSON.stringify(text)).toEqual(theirs.encode(text));
}

describe('USE-lite tokenizer', () => {
  it('equals the runtime on every 10th sentence of the Brown corpus (≥ 5000 real sentences, every genre)', () => {
    const documents = readBrown();
    expect(documents).toHaveLength(500);
    const sentences = documents.flatMap((d) => d.sentences).filter((_, i) => i % 10 === 0);
    expect(sentences.length).toBeGreaterThanOrEqual(5000);
    let mismatches = 0;
    let first = '';
    for (const sentence of sentences) {
      const a = Array.from(ours.encode(sentence));
      const b = theirs.encode(sentence);
      if (a.length !== b.length || a.some((id, i) => id !== b[i])) {
        mismatches++;
        first ||= `${JSON.stringify(sentence)}: ${a} vs ${b}`;
      }
    }
    expect(mismatches, first).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['one space', ' '],
    ['runs of spaces', '  two  spaces   here '],
    ['tabs and newlines stay as they are', 'tab\there\nnew line'],
    ['NFKC ligatures and widths', 'ﬁne ﬀ ＡＢＣ ① ½'],
    ['accents, composed and not', 'café cafe\u0301 naïve'],
    ['unknown characters and their runs', 'Ж ЖЖЖ 漢字テスト ✓✓'],
    ['astral code points', 'emoji 😀😀 and 𝔘𝔫𝔦'],
    ['the pieces\' own marker', '▁▁ ▁word'],
    ['digits and punctuation', '3.14159, 1,000,000; "quoted" (parens) [brackets] — dash…'],
    ['a long word', 'antidisestablishmentarianism supercalifragilisticexpialidocious'],
    ['pieces whose score is null in vocab.json', 'see http://example.com: 10:30 :) :( :-)'],
  ])('equals the runtime on %s', (_name, text) => expectSameIds(text));

  it('refuses what is not a vocabulary or a string', () => {
    expectThrows(() => new UseTokenizer([] as never), TypeError, /^UseTokenizer: expected vocabulary: an array of more than 6 \[piece, score\] pairs/);
    const bad = vocabulary.map((e, i) => (i === 7 ? ['x', NaN] : e)) as never;
    expectThrows(() => new UseTokenizer(bad), TypeError, /^UseTokenizer: expected vocabulary\[7\]: a \[non-empty string, finite number or null\] pair/);
    expectThrows(() => ours.encode(42 as never), TypeError, /^UseTokenizer\.encode: expected text: a string, received number 42$/);
  });
});
