/**
 * A model file of more than 1 GB with hundreds of tensors opens in memory proportional to its
 * header, not its size, and its tensors are adopted without copying. Run in a child so the RSS
 * figures are its own; they and the times are printed (not asserted: speed lives in bench/).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';

it('a 1 GB GGUF of 460 tensors: open and adopt everything with RSS growing by the header, not the file', () => {
  const script = path.join(__dirname, '..', 'fixtures', 'large-model-file.js');
  const child = spawnSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 300_000 });
  expect(child.status, child.stderr).toBe(0);
  const r = JSON.parse(child.stdout.trim().split('\n').pop()!);
  console.log(`large file: ${JSON.stringify(r)}`);
  expect(r.bytes).toBeGreaterThan(2 ** 30);
  expect(r.tensors).toBe(460);
  // The header (100 000 vocabulary strings, 460 tensor infos) is a few MB; the data is 1 GB.
  expect(r.rssAfterOpenMB - r.rssBeforeMB).toBeLessThan(64);
  expect(r.rssAfterAdoptMB - r.rssBeforeMB).toBeLessThan(64);
  expect(r.nativeObjectBytes).toBeLessThan(2 ** 20);
  expect(r.outputZero).toBe(true);
}, 300_000);
