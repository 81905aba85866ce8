'use strict';
// Where the pool's workers run (setPinning: 'fixed' | 'caller' | 'off'), measured on 2 threads
// under three conditions of the machine, against ORT at the same shape and threads:
//
//   pool quiet              nothing else running
//   pool busy cpuN          a spinning process pinned (taskset) to CPU N of the affinity mask:
//                           the first CPU (where 'fixed' expects the caller) and the second (where
//                           'fixed' puts worker 0)
//
// Rows are timed in interleaved rounds (mode A, B, C, peer, then again), not one after another as
// benchmark.js does, so that drift in the machine's load falls on every mode alike; the table
// gives each row's median over the rounds and its range, which is what "stable" means here.
// Workloads: a q4_0 GEMV 1×4096×4096 (int8 precision; ORT MatMulNBits accuracy level 4), an f32
// linear 128×1024×1024 (ORT MatMul) and an int8 GEMM 512³ (ORT MatMulInteger). Results never depend
// on the mode (tested); only time does. The default mode ('off') was chosen from these figures.
//
// run(context) is called by run.js; --filter matches "pool <condition> <row>".

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const onnx = require('./onnx-model');

const MODES = ['off', 'fixed', 'caller'];

function configFor(args) {
  return args.quick ? { rounds: 3, secondsPerRow: 0.1 } : { rounds: 9, secondsPerRow: 0.3 };
}

/** The CPUs of this process's affinity mask (Linux), in order. */
function allowedCpus() {
  try {
    const text = /^Cpus_allowed_list:\s*(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
    return text.split(',').flatMap((range) => {
      const [lo, hi = lo] = range.split('-').map(Number);
      return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    });
  } catch {
    return [];
  }
}

/** A process spinning on one CPU until stopped; null when taskset is missing. */
function startSpinner(cpu) {
  if (spawnSync('taskset', ['--version']).status !== 0) return null;
  const child = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
  return { stop: () => child.kill('SIGKILL') };
}

/** Calls per second of fn over about `seconds` (after one warm-up call), async or not. */
async function rate(fn, seconds) {
  await fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  do {
    await fn();
    calls++;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return calls / (Number(elapsed) / 1e9);
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The two workloads: sparq's call and, where ORT loaded, the peer's, with their ops per call. */
async function workloads({ sparq, ort, quantPeers, ortSessionOptions }) {
  const list = [];
  {
    const [m, k, n] = [1, 4096, 4096];
    const bytes = quantPeers.randomQ4_0(n, k, 7);
    const w = sparq.QuantizedMatrix.fromBytes('q4_0', n, k, bytes);
    const x = quantPeers.randomFloats(m * k, 8);
    const out = new Float32Array(m * n);
    const session = ort
      ? await quantPeers.ortMatMulNBits(ort, { n, k, accuracyLevel: 4, q4_0Bytes: bytes, sessionOptions: ortSessionOptions(2) })
      : null;
    const feeds = ort ? { A: new ort.Tensor('float32', x, [m, k]) } : null;
    list.push({
      label: 'q4_0 GEMV 1x4096x4096',
      ops: 2 * m * k * n,
      sparq: () => sparq.matmulQuantized(x, w, m, { out }),
      peer: session && { label: 'ORT MatMulNBits (level 4)', fn: () => session.run(feeds), release: () => session.release() },
    });
  }
  {
    const [m, k, n] = [128, 1024, 1024];
    const wf = quantPeers.randomFloats(n * k, 9);
    const w = sparq.packF32(wf, n, k);
    const x = quantPeers.randomFloats(m * k, 10);
    const out = new Float32Array(m * n);
    const session = ort ? await ort.InferenceSession.create(onnx.matMulModel({ m, k, n, bKxN: transpose(wf, n, k) }), ortSessionOptions(2)) : null;
    const feeds = ort ? { A: new ort.Tensor('float32', x, [m, k]) } : null;
    list.push({
      label: 'f32 linear 128x1024x1024',
      ops: 2 * m * k * n,
      sparq: () => sparq.linearF32(x, w, m, { out }),
      peer: session && { label: 'ORT MatMul f32', fn: () => session.run(feeds), release: () => session.release() },
    });
  }
  {
    const [m, k, n] = [512, 512, 512];
    const b = new Int8Array(n * k).map((_, i) => ((i * 37) % 255) - 127);
    const a = new Uint8Array(m * k).map((_, i) => (i * 13) % 256);
    const w = sparq.packInt8(b, n, k);
    const out = new Int32Array(m * n);
    const session = ort
      ? await ort.InferenceSession.create(onnx.matMulIntegerModel({ m, k, n, bKxN: transpose(b, n, k), aZeroPoint: 128 }), ortSessionOptions(2))
      : null;
    const feeds = ort ? { A: new ort.Tensor('uint8', a, [m, k]) } : null;
    list.push({
      label: 'int8 GEMM 512x512x512',
      ops: 2 * m * k * n,
      sparq: () => sparq.gemmU8S8(a, w, m, { aZeroPoint: 128, out }),
      peer: session && { label: 'ORT MatMulInteger', fn: () => session.run(feeds), release: () => session.release() },
    });
  }
  return list;
}

function transpose(src, rows, cols) {
  const out = new src.constructor(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

function printTable(title, rows) {
  console.log(`\n== ${title}`);
  console.log(`  ${'row'.padEnd(44)}${'median GOP/s'.padStart(14)}${'range'.padStart(18)}${'spread'.padStart(9)}  vs peer`);
  for (const r of rows) {
    const spread = r.max / r.min;
    const vsPeer = r.peerMedian ? `×${(r.median / r.peerMedian).toFixed(2)} ${r.peerLabel}` : '';
    console.log(
      `  ${r.label.padEnd(44)}${r.median.toFixed(1).padStart(14)}${`${r.min.toFixed(1)}–${r.max.toFixed(1)}`.padStart(18)}` +
        `${`×${spread.toFixed(2)}`.padStart(9)}  ${vsPeer}`,
    );
  }
}

async function run(ctx) {
  const { args, sparq, progress } = ctx;
  if (!sparq) return;
  const config = configFor(args);
  const cpus = allowedCpus();
  const conditions = [{ name: 'quiet', cpu: null }];
  if (cpus.length >= 2) conditions.push({ name: `busy cpu${cpus[0]}`, cpu: cpus[0] }, { name: `busy cpu${cpus[1]}`, cpu: cpus[1] });
  const wanted = conditions.filter((c) => !args.filter || args.filter.test(`pool ${c.name}`) || args.filter.test('pool'));
  if (wanted.length === 0) return;
  if (cpus.length < 2) console.log('\n  skip   pool busy rows: fewer than 2 CPUs in the affinity mask');

  const before = sparq.pinning();
  const loads = await workloads(ctx);
  const summary = [];
  try {
    for (const condition of wanted) {
      const spinner = condition.cpu === null ? null : startSpinner(condition.cpu);
      if (condition.cpu !== null && !spinner) {
        console.log(`\n  skip   pool ${condition.name}: taskset (util-linux) is not installed`);
        continue;
      }
      try {
        const rows = [];
        for (const load of loads) {
          const samples = new Map(MODES.map((mode) => [mode, []]));
          const peerSamples = [];
          for (let round = 0; round < config.rounds; round++) {
            for (const mode of MODES) {
              progress(`pool ${condition.name}: ${load.label} ${mode} round ${round + 1}`);
              sparq.setThreads(2);
              sparq.setPinning(mode);
              samples.get(mode).push((load.ops * (await rate(load.sparq, config.secondsPerRow))) / 1e9);
            }
            if (load.peer) {
              progress(`pool ${condition.name}: ${load.peer.label} round ${round + 1}`);
              sparq.setThreads(1); // the peer's rows leave sparq's pool idle
              peerSamples.push((load.ops * (await rate(load.peer.fn, config.secondsPerRow))) / 1e9);
            }
          }
          const peerMedian = peerSamples.length ? median(peerSamples) : null;
          for (const mode of MODES) {
            const s = samples.get(mode);
            rows.push({ label: `${load.label} sparq ${mode}`, median: median(s), min: Math.min(...s), max: Math.max(...s), peerMedian, peerLabel: load.peer?.label });
            summary.push({ condition: condition.name, load: load.label, mode, median: median(s), min: Math.min(...s) });
          }
          if (peerSamples.length)
            rows.push({ label: `${load.label} ${load.peer.label}`, median: peerMedian, min: Math.min(...peerSamples), max: Math.max(...peerSamples) });
        }
        printTable(`pool ${condition.name}  (2 threads, tier ${sparq.isa()}, ${config.rounds} interleaved rounds of ${config.secondsPerRow} s)`, rows);
      } finally {
        if (spinner) spinner.stop();
      }
    }
  } finally {
    for (const load of loads) if (load.peer) await load.peer.release();
    sparq.setPinning(before);
    sparq.setThreads();
  }
  verdict(summary);
}

/** Per mode: the median over conditions and workloads of its rate relative to the best mode there. */
function verdict(summary) {
  if (summary.length === 0) return;
  const keys = [...new Set(summary.map((s) => `${s.condition}|${s.load}`))];
  console.log('\n  pool placement, each mode relative to the best mode of its condition and workload (median, worst):');
  for (const mode of MODES) {
    const ratios = keys.map((key) => {
      const here = summary.filter((s) => `${s.condition}|${s.load}` === key);
      const best = Math.max(...here.map((s) => s.median));
      return here.find((s) => s.mode === mode).median / best;
    });
    console.log(`    ${mode.padEnd(7)} median ${(100 * median(ratios)).toFixed(0)}%, worst ${(100 * Math.min(...ratios)).toFixed(0)}% of the best`);
  }
}

module.exports = { run };
