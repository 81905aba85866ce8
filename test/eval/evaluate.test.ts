/**
 * The evaluation harness on a small seeded split: the f32 model against itself is perfect
 * agreement, a variant is measured against it, results do not depend on the run, and speed is
 * reported per batch and thread count with a profile.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Evaluation, evaluate } from '../../lib/eval/evaluate';
import { loadUseLite, type UseLite } from '../../lib/models/use-lite/model';

const SMALL = { sentencesPerDocument: 1, emails: 120, trainEmails: 200, emailChars: 200 };

describe('evaluate', () => {
  let f32: UseLite;
  let evaluation: Evaluation;
  beforeAll(() => {
    f32 = loadUseLite();
    evaluation = Evaluation.prepare(f32, SMALL);
  });

  it('holds out one sentence per Brown document in half the documents, and the e-mails asked for', () => {
    expect(evaluation.sentences.length).toBeGreaterThanOrEqual(250);
    expect(evaluation.emails).toHaveLength(120);
    expect(evaluation.emails.every((e) => e.length <= 200)).toBe(true);
    const spam = evaluation.spamLabels.reduce((a, b) => a + b, 0);
    expect(spam).toBeGreaterThan(15);
    expect(spam).toBeLessThan(70);
  });

  it('the f32 model agrees with itself and beats chance on both tasks', () => {
    const r = evaluation.reference;
    expect([r.cosineMean, r.cosineP1, r.cosineMin]).toEqual([expect.closeTo(1, 6), expect.closeTo(1, 6), expect.closeTo(1, 6)]);
    expect(r.bytes).toBe(19694592);
    expect(r.spamAccuracy).toBeGreaterThan(0.85);
    expect(r.genreAccuracy).toBeGreaterThan(2 / 15);
  });

  it('a variant is measured against the f32 embeddings; the same split gives the same numbers', () => {
    const int8 = f32.withFormats({ format: 'int8' });
    const a = evaluation.evaluate(int8);
    expect(a.cosineMean).toBeLessThan(1);
    expect(a.cosineMean).toBeGreaterThan(0.999);
    expect(a.cosineP1).toBeLessThanOrEqual(a.cosineMean);
    expect(a.cosineMin).toBeLessThanOrEqual(a.cosineP1);
    expect(a.bytes).toBe(int8.byteLength);
    expect(Evaluation.prepare(f32, SMALL).evaluate(int8)).toEqual(a);
    int8.dispose();
  });

  it('evaluate(model) compares with the model\'s own f32 form and reports speed and a profile', () => {
    const q8 = f32.withFormats({ format: 'q8_0' });
    const r = evaluate(q8, { ...SMALL, speed: { seconds: 0.05, sentences: 8 } });
    expect(r.cosineMean).toBeGreaterThan(0.999);
    expect(r.speed!.rows.map((row) => [row.batch, row.threads])).toEqual([[1, 1], [32, 1], [1, 2], [32, 2]]);
    for (const row of r.speed!.rows) expect(row.tokensPerSecond).toBeGreaterThan(0);
    expect(r.speed!.profile.matmuls).toBeGreaterThan(0);
    q8.dispose();
  });
});
