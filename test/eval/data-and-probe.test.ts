/** The SpamAssassin reader, what a model reads of an e-mail, the seeded splits and the probe. */
import { describe, expect, it } from 'vitest';
import { emailText, readSpamAssassin } from '../../lib/data/spam';
import { LogisticProbe } from '../../lib/eval/probe';
import { seededRandom, shuffled } from '../../lib/eval/random';

describe('SpamAssassin', () => {
  it('has 6046 e-mails, 1896 of them spam, each with text', () => {
    const emails = readSpamAssassin();
    expect(emails).toHaveLength(6046);
    expect(emails.filter((e) => e.spam)).toHaveLength(1896);
    expect(new Set(emails.map((e) => e.group))).toEqual(new Set(['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2']));
    expect(emails.every((e) => e.text.length > 0 && e.text.length <= 1000)).toBe(true);
  });

  it('reads the subject and a cleaned body: quoted-printable decoded, HTML and entities removed', () => {
    const raw = [
      'From: someone@example.com',
      'Subject: Cheap',
      '  meds now',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<html><style>p { color: red }</style><p>Buy=20now &amp; save=',
      ' 50%</p><br>&#65;!</html>',
    ].join('\n');
    expect(emailText(raw)).toBe('Cheap meds now. Buy now & save 50% A!');
    expect(emailText('Subject: only a subject')).toBe('only a subject');
  });

  it('refuses a missing directory with the package to install', () => {
    expect(() => readSpamAssassin({ dir: '/nonexistent' })).toThrow(/ENOENT/);
  });
});

describe('seeded splits and the logistic probe', () => {
  it('the same seed gives the same shuffle; another seed another', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    expect(shuffled(items, seededRandom(3))).toEqual(shuffled(items, seededRandom(3)));
    expect(shuffled(items, seededRandom(3))).not.toEqual(shuffled(items, seededRandom(4)));
    expect([...shuffled(items, seededRandom(3))].sort((a, b) => a - b)).toEqual(items);
  });

  it('separates separable data and is deterministic', () => {
    const random = seededRandom(9);
    const rows = 400, d = 8;
    const x = new Float32Array(rows * d), labels = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) {
      labels[i] = i % 2;
      for (let j = 0; j < d; j++) x[i * d + j] = random() - 0.5 + (j === 3 ? (labels[i] ? 0.6 : -0.6) : 0);
    }
    const a = LogisticProbe.train(x, rows, d, labels), b = LogisticProbe.train(x, rows, d, labels);
    expect(a.accuracy(x, rows, labels)).toBe(1);
    expect([...a.weights]).toEqual([...b.weights]);
    expect(Math.abs(a.weights[3]!)).toBeGreaterThan(Math.max(...[...a.weights].filter((_, j) => j !== 3).map(Math.abs)));
  });
});
