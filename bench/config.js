'use strict';
// Command-line options and the suite sizes they select (quick or full).



// ---------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const args = { quick: false, filter: null, threads: null, json: null, watchdog: 180 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--quick') args.quick = true;
    else if (arg === '--filter') args.filter = new RegExp(value(), 'i');
    else if (arg === '--threads') args.threads = value().split(',').map(Number);
    else if (arg === '--json') args.json = value();
    else if (arg === '--watchdog') args.watchdog = Number(value());
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument ${arg}`);
  }
  if (args.threads && !args.threads.every((t) => Number.isInteger(t) && t >= 1)) usage('--threads takes e.g. 1,2');
  return args;
}

function usage(problem) {
  if (problem) console.error(`run.js: ${problem}`);
  console.error(
    'usage: node run.js [--quick] [--filter <regex>] [--threads 1,2] [--json <file>] [--watchdog <s>]\n' +
      '  --quick    a small subset with short sampling (smoke test, < 2 min)\n' +
      '  --filter   run only rows whose "<suite> <row>" matches (case-insensitive), e.g. tiny, "gemm 512", vnni|ORT,\n' +
      '             "^quantize q4_0", "qmatmul 1x4096x4096 t1", qcold, qaccuracy\n' +
      '  --threads  thread counts to run (default 1,2)\n' +
      '  --json     also write every result to this file\n' +
      '  --watchdog abort when nothing progresses for this many seconds (default 180; 0 disables)',
  );
  process.exit(problem ? 2 : 0);
}

const args = parseArgs(process.argv.slice(2));

const CONFIG = args.quick
  ? {
      shapes: [
        [128, 1024, 1024],
        [512, 512, 512],
      ],
      threads: args.threads ?? [1, 2],
      coldThreads: [1],
      coldMatrices: 6, // 6 × 16 MiB = 96 MiB
      tinyThreads: [1],
      bench: { minSamples: 3, maxTime: 0.25 },
      jsOpsBudget: 2 ** 24, // largest 2·m·n·k timed for the JS rows; fewer rows beyond it
      quant: {
        threads: args.threads ?? [1],
        elements: 2 ** 20, // quantize/dequantize: [256×4096]
        refElements: 2 ** 16, // the TS reference quantizes the first 16 rows
        matmul: [
          { shape: [1, 4096, 4096], rows: 'all' },
          { shape: [128, 4096, 4096], rows: 'q4_0' }, // the m = 128 target only
        ],
        matmulThreads: args.threads ?? [1],
        coldThreads: args.threads ?? [1],
        coldBytes: 96 * 2 ** 20, // 11 q4_0 4096² matrices
        accuracy: { m: 8, k: 4096, n: 1024 },
      },
    }
  : {
      shapes: [
        [1, 4096, 4096],
        [8, 4096, 4096],
        [128, 1024, 1024],
        [512, 512, 512],
        [1024, 1024, 1024],
      ],
      threads: args.threads ?? [1, 2],
      coldThreads: args.threads ?? [1, 2],
      coldMatrices: 8, // 8 × 16 MiB = 128 MiB, 4× the L3
      tinyThreads: args.threads ?? [1, 2],
      bench: { minSamples: 5, maxTime: 1.5 },
      jsOpsBudget: 2 ** 26,
      quant: {
        threads: args.threads ?? [1, 2],
        elements: 2 ** 24, // quantize/dequantize: [4096×4096]
        refElements: 2 ** 18, // the TS reference quantizes the first 64 rows
        matmul: [
          { shape: [1, 4096, 4096], rows: 'all' },
          { shape: [1, 4096, 11008], rows: 'all' },
          { shape: [8, 4096, 4096], rows: 'all' },
          { shape: [128, 4096, 4096], rows: 'all' },
        ],
        matmulThreads: args.threads ?? [1, 2],
        coldThreads: args.threads ?? [1, 2],
        coldBytes: 128 * 2 ** 20, // 15 q4_0 4096² matrices, 4× the L3
        accuracy: { m: 8, k: 4096, n: 1024 },
      },
    };

const A_ZERO_POINT = 128;

module.exports = { A_ZERO_POINT, CONFIG, args };
