/**
 * The Universal Sentence Encoder-lite tokenizer: SentencePiece pieces chosen by Viterbi over
 * their scores, computed exactly as the model's own runtime (the tfjs-models / energetic-ai USE
 * tokenizer) does, so the ids fed to the model are the same, token for token:
 *
 *   1. NFKC-normalise; a non-empty text gets '▁' in front and every ' ' (U+0020 only) becomes '▁'.
 *   2. At each code point i, every vocabulary piece (ids 6 and up; 0–5 are reserved) that starts
 *      there is a candidate; where none does, the one code point is a candidate of id 0, score 0.
 *   3. best[e] = the highest best[s] + score over the candidates [s, e), visited by ascending s and,
 *      for one s, by ascending length. The runtime treats best[e] = 0 as "nothing yet", so a 0 sum
 *      is replaced by whatever comes next, and a tie goes to the later candidate (`>=`).
 *   4. Back from the end, each chosen piece steps back by its length (in UTF-16 code units, as the
 *      runtime measures it; for id 0 the length of piece 0, '�', i.e. one).
 *   5. Runs of id 0 collapse into one.
 * Step 3's quirks are the runtime's, kept on purpose: a different rule gives different ids. So is
 * one more: the vocab.json that ships with the model has a null score for every piece with a ':'
 * in it (':', '://', '▁:)', …), and the runtime's `null + best` counts it as 0, the highest score
 * a piece can have; here a null score is 0 too.
 */
import { fail } from '../../validate';

/** [piece, score] in id order, as the model's vocab.json holds them (a null score counts as 0). */
export type Vocabulary = ReadonlyArray<readonly [string, number | null]>;

const SEPARATOR = '\u2581';
const RESERVED = 6;

/** A trie node: the piece spelled by the path to it (id −1 when none), and the next code points. */
interface Node {
  id: number;
  score: number;
  next: Map<string, Node>;
}

const node = (): Node => ({ id: -1, score: 0, next: new Map() });

export class UseTokenizer {
  /** The pieces by code point; a piece listed twice keeps its last id, as the runtime's trie does. */
  readonly #root = node();
  /** UTF-16 length of each id's piece: the back-tracking step. */
  readonly #lengths: Int32Array;
  /** The [piece, score] pairs it was built from, by id (what a saved model stores). */
  readonly vocabulary: Vocabulary;

  constructor(vocabulary: Vocabulary) {
    const fn = 'UseTokenizer';
    if (!Array.isArray(vocabulary) || vocabulary.length <= RESERVED) {
      fail('type', fn, 'vocabulary', `an array of more than ${RESERVED} [piece, score] pairs`, vocabulary);
    }
    this.#lengths = new Int32Array(vocabulary.length);
    this.vocabulary = Object.freeze(vocabulary.map((entry) => Object.freeze([...entry] as [string, number | null])));
    vocabulary.forEach((entry, id) => {
      const [piece, score] = Array.isArray(entry) ? entry : [];
      if (typeof piece !== 'string' || piece.length === 0 || !(score === null || (typeof score === 'number' && Number.isFinite(score)))) {
        fail('type', fn, `vocabulary[${id}]`, 'a [non-empty string, finite number or null] pair', entry);
      }
      this.#lengths[id] = piece.length;
      if (id < RESERVED) return;
      let at = this.#root;
      for (const symbol of piece) {
        let child = at.next.get(symbol);
        if (!child) at.next.set(symbol, (child = node()));
        at = child;
      }
      at.id = id;
      at.score = score ?? 0;
    });
  }

  /** The ids of one text. */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') fail('type', 'UseTokenizer.encode', 'text', 'a string', text);
    const normalized = text.normalize('NFKC');
    const symbols = normalized.length === 0 ? [] : [...(SEPARATOR + normalized.replaceAll(' ', SEPARATOR))];
    const count = symbols.length;
    const best = new Float64Array(count + 1);
    const chosen = new Int32Array(count + 1);
    // Starts ascend, and for one start the pieces lengthen, so every end meets its candidates in
    // the order of step 3; best[start] is final before any piece from it is scored.
    const offer = (end: number, id: number, total: number) => {
      if (best[end] === 0 || total >= best[end]!) {
        best[end] = total;
        chosen[end] = id;
      }
    };
    for (let start = 0; start < count; start++) {
      let found = false;
      let at: Node | undefined = this.#root;
      for (let end = start + 1; end <= count; end++) {
        at = at.next.get(symbols[end - 1]!);
        if (!at) break;
        if (at.id >= 0) {
          offer(end, at.id, at.score + best[start]!);
          found = true;
        }
      }
      if (!found) offer(start + 1, 0, best[start]!);
    }
    const reversed: number[] = [];
    for (let at = count; at > 0; at -= this.#lengths[chosen[at]!]!) reversed.push(chosen[at]!);
    const ids: number[] = [];
    for (let i = reversed.length - 1; i >= 0; i--) {
      // Runs of unknowns collapse into one; the runtime merges while walking back, which keeps
      // the same single 0 for each run.
      if (reversed[i] === 0 && ids.length > 0 && ids[ids.length - 1] === 0) continue;
      ids.push(reversed[i]!);
    }
    return Int32Array.from(ids);
  }
}
