/**
 * A student far smaller and faster than USE-lite, distilled from it on real sentences:
 *
 *   tokens → embedding gather (the teacher's table, trained further) → mean over the sentence
 *          → Linear d→h → ReLU → Linear h→out
 *
 * With out = 512 and the cosine loss against the teacher's embeddings it is an embedding model
 * (`embed` gives unit rows, so the teacher's probe and centroids apply to it unchanged). With out =
 * C classes it is a classifier trained by `distillationLoss`: on labels alone (no teacher), on a
 * teacher's logits alone, or mixed by α. Every step runs forward and backward on sparq's kernels
 * (embedding gather, mean pooling, the f32 GEMM and its transposed-A product).
 */
import { gemmF32 } from '../dense';
import type { UseTokenizer } from '../models/use-lite/tokenizer';
import { embeddingGather, meanPool } from '../nn/ops';
import { embeddingGatherBackward, linearBackward, meanPoolBackward, reluBackward } from '../train/backward';
import { cosineLoss, distillationLoss } from '../train/losses';
import { train, type TrainResult } from '../train/trainer';
import { normalize } from '../eval/evaluate';
import { seededRandom } from '../eval/random';
import { fail } from '../validate';

const MAX_TOKENS = 128;

interface Pass {
  tokens: Int32Array;
  lengths: Int32Array;
  pooled: Float32Array;
  hidden: Float32Array;
  activated: Float32Array;
  out: Float32Array;
}

export class Student {
  readonly tokenizer: UseTokenizer;
  readonly vocabulary: number;
  readonly d: number;
  readonly hidden: number;
  readonly outputs: number;
  /** Parameters, trained in place: table [vocabulary×d], w1 [hidden×d], b1, w2 [outputs×hidden], b2. */
  readonly params: Float32Array[];

  constructor(tokenizer: UseTokenizer, table: Float32Array, vocabulary: number, d: number, hidden: number, outputs: number, seed = 1) {
    this.tokenizer = tokenizer;
    this.vocabulary = vocabulary;
    this.d = d;
    this.hidden = hidden;
    this.outputs = outputs;
    // He-style uniform init, seeded.
    const random = seededRandom(seed);
    const init = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => (2 * random() - 1) * Math.sqrt(6 / fanIn));
    this.params = [table.slice(), init(hidden * d, d), new Float32Array(hidden), init(outputs * hidden, hidden), new Float32Array(outputs)];
  }

  /** Bytes of every parameter (f32). */
  get byteLength(): number {
    return this.params.reduce((sum, p) => sum + p.byteLength, 0);
  }

  /** The forward pass of a batch of texts, keeping what the backward pass needs. */
  run(texts: readonly string[]): Pass {
    const [table, w1, b1, w2, b2] = this.params as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    const ids = texts.map((text) => this.tokenizer.encode(text).subarray(0, MAX_TOKENS));
    const lengths = Int32Array.from(ids, (s) => Math.max(1, s.length));
    const tokens = new Int32Array(lengths.reduce((a, b) => a + b, 0));
    // An empty text reads token 0 once, so every text has a row.
    let at = 0;
    for (const sentence of ids) {
      if (sentence.length) tokens.set(sentence, at);
      at += Math.max(1, sentence.length);
    }
    const pooled = meanPool(embeddingGather(table, this.d, tokens), this.d, lengths);
    const m = texts.length;
    const hidden = gemmF32(pooled, w1, m, this.hidden, this.d, { transB: true });
    for (let i = 0; i < hidden.length; i++) hidden[i] = hidden[i]! + b1[i % this.hidden]!;
    const activated = hidden.map((v) => Math.max(v, 0));
    const out = gemmF32(activated, w2, m, this.outputs, this.hidden, { transB: true });
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + b2[i % this.outputs]!;
    return { tokens, lengths, pooled, hidden, activated, out };
  }

  /** Gradients of every parameter from ∂L/∂out. */
  backward(pass: Pass, dOut: Float32Array): Float32Array[] {
    const [, w1, , w2] = this.params as [Float32Array, Float32Array, Float32Array, Float32Array];
    const m = pass.lengths.length;
    const second = linearBackward(pass.activated, w2, dOut, m, this.outputs, this.hidden);
    const first = linearBackward(pass.pooled, w1, reluBackward(pass.hidden, second.dx!), m, this.hidden, this.d);
    const dTable = embeddingGatherBackward(pass.tokens, meanPoolBackward(first.dx!, pass.lengths, this.d), this.vocabulary, this.d);
    return [dTable, first.dw, first.db, second.dw, second.db];
  }

  /** Unit-length outputs [count×outputs] (the embedding, for an embedding student). */
  embed(texts: readonly string[]): Float32Array {
    const out = this.run(texts).out;
    for (let i = 0; i < texts.length; i++) normalize(out.subarray(i * this.outputs, (i + 1) * this.outputs));
    return out;
  }

  /** Logits [count×outputs], 32 texts at a time. */
  logits(texts: readonly string[]): Float32Array {
    const out = new Float32Array(texts.length * this.outputs);
    for (let i = 0; i < texts.length; i += 32) out.set(this.run(texts.slice(i, i + 32)).out, i * this.outputs);
    return out;
  }
}

export interface StudentData {
  texts: readonly string[];
  /** Embedding student: the teacher's embeddings [texts×512]. Classifier: the teacher's logits, or null. */
  teacher: Float32Array | null;
  /** Classifier: labels, or null. */
  labels?: Int32Array | null;
}

export interface StudentTraining {
  /** 'cosine' (embedding student) or 'distill' (classifier: α·CE + (1 − α)·T²·KL). */
  loss: 'cosine' | 'distill';
  alpha?: number;
  temperature?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Early stopping on this set's loss. */
  validation?: StudentData;
  onProgress?: (epoch: number, done: number, total: number, loss: number) => void;
}

function lossOf(student: Student, data: StudentData, o: StudentTraining, pass: Pass, batch: ArrayLike<number>): { loss: number; grad: Float32Array } {
  const m = batch.length, c = student.outputs;
  const pick = (a: Float32Array) => {
    const out = new Float32Array(m * c);
    for (let r = 0; r < m; r++) out.set(a.subarray(batch[r]! * c, (batch[r]! + 1) * c), r * c);
    return out;
  };
  if (o.loss === 'cosine') return cosineLoss(pass.out, pick(data.teacher!), m, c);
  const labels = data.labels ? Int32Array.from(batch, (i) => data.labels![i]!) : null;
  return distillationLoss(pass.out, data.teacher ? pick(data.teacher) : null, labels, m, c, { alpha: o.alpha, temperature: o.temperature });
}

/** Trains `student` on the data (in place) and returns the trainer's record. */
export function trainStudent(student: Student, data: StudentData, o: StudentTraining): TrainResult {
  if (o.loss === 'cosine' && !data.teacher) fail('range', 'trainStudent', 'data.teacher', "the teacher's embeddings for the cosine loss", data.teacher);
  const validation = o.validation;
  const validate = validation
    ? () => {
        let sum = 0;
        const count = validation.texts.length;
        for (let i = 0; i < count; i += 256) {
          const batch = Int32Array.from({ length: Math.min(256, count - i) }, (_, j) => i + j);
          sum += lossOf(student, validation, o, student.run(Array.from(batch, (j) => validation.texts[j]!)), batch).loss * batch.length;
        }
        return sum / count;
      }
    : undefined;
  return train({
    params: student.params,
    samples: data.texts.length,
    batchSize: o.batchSize ?? 64,
    epochs: o.epochs ?? 10,
    lr: o.lr ?? 1e-3,
    seed: o.seed ?? 1,
    warmup: 20,
    validate,
    onProgress: o.onProgress,
    step: (batch) => {
      const pass = student.run(Array.from(batch, (i) => data.texts[i]!));
      const { loss, grad } = lossOf(student, data, o, pass, batch);
      return { loss, grads: student.backward(pass, grad) };
    },
  });
}
