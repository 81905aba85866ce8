'use strict';
// Low-rank layers against the dense layer they replace: at each of USE-lite's layer shapes, the
// time of LowRankLinear (X·Aᵀ then ·Bᵀ, rank r) over the dense Linear, in the same form (f32, and
// int8 per channel), at m = 640 (a batch of 32 sentences) and m = 1, one thread. Each row is the
// median of interleaved rounds (dense, then every rank, again). The break-even rank is the largest
// measured rank at which the low-rank layer is still faster; ⌊n·k/(n + k)⌋ is where it stops
// saving weights.
//
//   lowrank <n>x<k> m<m> <format>       --filter '^lowrank' runs it

const { median, microseconds } = require('./interleaved');
const { uniformFloats } = require('./sparse-peers');

const uniform = (count, seed) => uniformFloats(count, seed, -0.5, 0.5);

async function run(ctx) {
  const { args, sparq, progress } = ctx;
  if (!sparq || typeof sparq.LowRankLinear !== 'function') return;
  const shapes = [[1536, 512], [512, 512], [2048, 512], [512, 2048]];
  const ms = args.quick ? 20 : 60;
  const rounds = args.quick ? 3 : 7;
  const formats = args.quick ? ['f32'] : ['f32', 'int8'];
  const before = sparq.threads();
  sparq.setThreads(1);
  const summary = [];
  try {
    for (const [n, k] of shapes) {
      for (const m of [640, 1]) {
        for (const format of formats) {
          const label = `lowrank ${n}x${k} m${m} ${format}`;
          if (args.filter && !args.filter.test(label)) continue;
          progress(label);
          const even = Math.floor((n * k) / (n + k));
          const ranks = [32, 64, 96, 128, 192, 256, 320, 384, 448, 512].filter((r) => r <= Math.min(n, k));
          const w = uniform(n * k, n * 31 + k), x = uniform(m * k, m + 7);
          const dense = sparq.Linear.fromWeights(w, n, k, { format });
          const layers = ranks.map((r) => sparq.LowRankLinear.fromFactors(uniform(r * k, r), uniform(n * r, r + 1), n, k, r, { format }));
          const out = new Float32Array(m * n);
          const samples = [dense, ...layers].map(() => []);
          for (let round = 0; round < rounds; round++) {
            [dense, ...layers].forEach((layer, i) => samples[i].push(microseconds([() => layer.forward(x, m, { out })], ms)));
          }
          const denseUs = median(samples[0]);
          const ratios = ranks.map((r, i) => [r, median(samples[i + 1]) / denseUs]);
          const faster = ratios.filter(([, ratio]) => ratio < 1).map(([r]) => r);
          const breakEven = faster.length ? Math.max(...faster) : null;
          console.log(`\n-- ${label}: dense ${denseUs.toFixed(1)} µs (median of ${rounds} rounds, tier ${sparq.isa()}, 1 thread)`);
          console.log(`  rank     ${ranks.map((r) => String(r).padStart(7)).join('')}`);
          console.log(`  time/dense${ratios.map(([, ratio]) => `×${ratio.toFixed(2)}`.padStart(7)).join('').slice(1)}`);
          summary.push({ label, denseUs, breakEven, even });
          dense.dispose();
          for (const layer of layers) layer.dispose();
        }
      }
    }
  } finally {
    sparq.setThreads(before);
  }
  if (!summary.length) return;
  console.log('\n== lowrank break-even ranks (largest measured rank faster than the dense layer; ⌊nk/(n+k)⌋ saves weights below it)');
  for (const s of summary) console.log(`  ${s.label.padEnd(34)} measured ${s.breakEven === null ? 'none' : `r ≤ ${s.breakEven}`}`.padEnd(58) + `  weights r < ${s.even}`);
}

module.exports = { run };
