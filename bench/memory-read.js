'use strict';
// A plain memory read in WebAssembly SIMD: the bandwidth baseline that the cold GEMV suites
// (quantized and sparse) compare against. Used through quant-peers.js, which re-exports it.

// ---------------------------------------------------------------------------
// Plain memory read: the cold GEMV's bandwidth baseline
//
// A WebAssembly function sum(begin, end) that adds the bytes [begin, end) of a shared memory
// as 64-bit lanes: four 16-byte loads per 64 bytes into four i64x2 accumulators, nothing
// else, so over a buffer far larger than the caches it runs at the speed DRAM delivers to one
// core. A JS loop over an Int32Array reads ~8–10 GB/s, about half of that, so it would
// understate DRAM; this one needs no native build either. The module is encoded below from
// the WebAssembly binary format (core spec §5, SIMD opcodes).
// With T threads, T − 1 workers run the same function on the same memory, sharing the range
// in 256 KiB chunks with the calling thread, which then waits for them.

const WASM_PAGE = 65536;
const READ_ALIGN = 64; // bytes per loop iteration; slices are multiples of it

function uleb128(value) {
  const bytes = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    bytes.push(byte);
  } while (value);
  return bytes;
}

const wasmVector = (items) => [...uleb128(items.length), ...items.flat()];
const wasmName = (text) => wasmVector([...text].map((c) => [c.charCodeAt(0)]));
const wasmSection = (id, content) => [id, ...uleb128(content.length), ...content];

/** Bytes of the module: imports env.memory (shared, 1…65536 pages), exports sum(begin: i32, end: i32) → i64. */
function memoryReadModuleBytes() {
  const I32 = 0x7f;
  const I64 = 0x7e;
  const V128 = 0x7b;
  const op = {
    block: 0x02,
    loop: 0x03,
    end: 0x0b,
    brIf: 0x0d,
    localGet: 0x20,
    localSet: 0x21,
    localTee: 0x22,
    i32Const: 0x41,
    i32LtU: 0x49,
    i32GeU: 0x4f,
    i32Add: 0x6a,
    i64Add: 0x7c,
  };
  const v128Load = (offset) => [0xfd, ...uleb128(0), 4, ...uleb128(offset)]; // align 2^4, offset
  const i64x2Add = [0xfd, ...uleb128(206)];
  const i64x2ExtractLane = (lane) => [0xfd, ...uleb128(29), lane];
  const [begin, end] = [0, 1]; // parameters
  const accumulators = [2, 3, 4, 5]; // v128 locals
  const body = [
    ...wasmVector([[accumulators.length, V128]]),
    op.block, 0x40,
    op.localGet, begin, op.localGet, end, op.i32GeU, op.brIf, 0, // empty range
    op.loop, 0x40,
    ...accumulators.flatMap((acc, i) => [op.localGet, acc, op.localGet, begin, ...v128Load(16 * i), ...i64x2Add, op.localSet, acc]),
    op.localGet, begin, op.i32Const, ...[0xc0, 0x00], op.i32Add, op.localTee, begin, // begin += 64 (signed LEB128)
    op.localGet, end, op.i32LtU, op.brIf, 0,
    op.end,
    op.end,
    op.localGet, 2, op.localGet, 3, ...i64x2Add, op.localGet, 4, ...i64x2Add, op.localGet, 5, ...i64x2Add, op.localTee, 2,
    ...i64x2ExtractLane(0), op.localGet, 2, ...i64x2ExtractLane(1), op.i64Add,
    op.end,
  ];
  const sharedLimits = [0x03, ...uleb128(1), ...uleb128(65536)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...wasmSection(1, wasmVector([[0x60, ...wasmVector([[I32], [I32]]), ...wasmVector([[I64]])]])), // type 0: (i32, i32) → i64
    ...wasmSection(2, wasmVector([[...wasmName('env'), ...wasmName('memory'), 0x02, ...sharedLimits]])), // import memory
    ...wasmSection(3, wasmVector([[0]])), // function 0 has type 0
    ...wasmSection(7, wasmVector([[...wasmName('sum'), 0x00, 0]])), // export function 0 as "sum"
    ...wasmSection(10, wasmVector([[...uleb128(body.length), ...body]])), // its code
  ]);
}

// Control words in a SharedArrayBuffer. Per call the caller writes the range as chunks, bumps
// `generation` and takes chunks itself; each woken worker takes chunks until none are left
// (claimed with Atomics.add on `next`, so a worker the OS runs late leaves its share to the
// others), stores its partial sum and counts itself `done`.
// Threads sleep in Atomics.wait rather than poll: JavaScript cannot yield the CPU, and a
// polling worker that the scheduler put on the caller's CPU takes turns with it at whole time
// slices (measured: 2 threads at 1–5 GB/s instead of ~20 on a busy 2-core machine).
const CONTROL = { generation: 0, done: 1, ready: 2, stop: 3, next: 4, chunks: 5, chunkBytes: 6, offset: 7, end: 8, words: 9 };
const CHUNK_BYTES = 256 * 1024;

const READER_WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, sums, index, CONTROL } = workerData;
const { sum } = new WebAssembly.Instance(module, { env: { memory } }).exports;
const state = new Int32Array(control);
const partial = new BigInt64Array(sums);
Atomics.add(state, CONTROL.ready, 1);
Atomics.notify(state, CONTROL.ready);
let seen = Atomics.load(state, CONTROL.generation);
for (;;) {
  while (Atomics.load(state, CONTROL.generation) === seen) Atomics.wait(state, CONTROL.generation, seen);
  seen = Atomics.load(state, CONTROL.generation);
  if (Atomics.load(state, CONTROL.stop)) break;
  const chunks = state[CONTROL.chunks], chunkBytes = state[CONTROL.chunkBytes], offset = state[CONTROL.offset], end = state[CONTROL.end];
  let total = 0n;
  for (let chunk = Atomics.add(state, CONTROL.next, 1); chunk < chunks; chunk = Atomics.add(state, CONTROL.next, 1)) {
    const begin = offset + chunk * chunkBytes;
    total += sum(begin, Math.min(end, begin + chunkBytes));
  }
  partial[index] = total;
  Atomics.add(state, CONTROL.done, 1);
  Atomics.notify(state, CONTROL.done);
}
`;

/**
 * byteLength bytes of shared WebAssembly memory (rounded up to whole pages), which
 * MemoryReader reads. Fill `bytes` before reading: untouched pages are all one zero page.
 */
function readableMemory(byteLength) {
  const pages = Math.ceil(byteLength / WASM_PAGE);
  if (pages > 32768) throw new RangeError(`expected at most 2 GiB for the read buffer, received ${byteLength} bytes`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  return { memory, bytes: new Uint8Array(memory.buffer, 0, byteLength) };
}

/** Sums memory on `threads` threads; made by MemoryReader.open, ended by close(). */
class MemoryReader {
  static async open(memory, threads = 1) {
    if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`expected a positive integer for threads, received ${threads}`);
    const module = new WebAssembly.Module(memoryReadModuleBytes());
    const reader = new MemoryReader(module, memory, threads);
    const { Worker } = require('node:worker_threads');
    for (let index = 0; index < threads - 1; index++) {
      const workerData = { module, memory, control: reader.control.buffer, sums: reader.partial.buffer, index, CONTROL };
      const worker = new Worker(READER_WORKER_SOURCE, { eval: true, workerData });
      worker.on('error', (e) => (reader.failure = e));
      worker.on('exit', () => {
        if (!Atomics.load(reader.control, CONTROL.stop)) reader.failure ??= new Error('a memory-read worker exited');
      });
      reader.workers.push(worker);
    }
    const deadline = Date.now() + 10000;
    while (Atomics.load(reader.control, CONTROL.ready) < threads - 1) {
      if (reader.failure) throw reader.failure;
      if (Date.now() > deadline) throw new Error('memory-read workers did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return reader;
  }

  constructor(module, memory, threads) {
    this.threads = threads;
    this.sum = new WebAssembly.Instance(module, { env: { memory } }).exports.sum;
    this.control = new Int32Array(new SharedArrayBuffer(4 * CONTROL.words));
    this.partial = new BigInt64Array(new SharedArrayBuffer(8 * threads));
    this.workers = [];
    this.failure = null;
  }

  /** Σ of the bytes [offset, offset + length) as little-endian u64 words, mod 2^64. Both multiples of 64. */
  read(offset, length) {
    if (offset % READ_ALIGN || length % READ_ALIGN) throw new RangeError(`expected multiples of ${READ_ALIGN} for offset and length, received ${offset}, ${length}`);
    const end = offset + length;
    if (this.threads === 1) return BigInt.asUintN(64, this.sum(offset, end));
    const control = this.control;
    const chunks = Math.ceil(length / CHUNK_BYTES);
    control[CONTROL.chunks] = chunks;
    control[CONTROL.chunkBytes] = CHUNK_BYTES;
    control[CONTROL.offset] = offset;
    control[CONTROL.end] = end;
    Atomics.store(control, CONTROL.next, 0);
    Atomics.store(control, CONTROL.done, 0);
    Atomics.add(control, CONTROL.generation, 1);
    Atomics.notify(control, CONTROL.generation);
    let total = 0n;
    for (let chunk = Atomics.add(control, CONTROL.next, 1); chunk < chunks; chunk = Atomics.add(control, CONTROL.next, 1)) {
      const begin = offset + chunk * CHUNK_BYTES;
      total += this.sum(begin, Math.min(end, begin + CHUNK_BYTES));
    }
    // Every worker must have finished this call before the next one rewrites the chunks.
    for (let done = Atomics.load(control, CONTROL.done); done < this.threads - 1; done = Atomics.load(control, CONTROL.done)) {
      if (this.failure) throw this.failure;
      Atomics.wait(control, CONTROL.done, done, 100);
    }
    for (let index = 0; index < this.threads - 1; index++) total += this.partial[index];
    return BigInt.asUintN(64, total);
  }

  /** Stop the workers. */
  async close() {
    Atomics.store(this.control, CONTROL.stop, 1);
    Atomics.add(this.control, CONTROL.generation, 1);
    Atomics.notify(this.control, CONTROL.generation);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Σ of bytes [offset, offset + length) as little-endian u64 words, mod 2^64, in plain JS (for checking). */
function sumWordsJs(bytes, offset, length) {
  const words = new BigUint64Array(bytes.buffer, bytes.byteOffset + offset, length / 8);
  let total = 0n;
  for (const word of words) total += word;
  return BigInt.asUintN(64, total);
}

module.exports = { WASM_PAGE, readableMemory, memoryReadModuleBytes, MemoryReader, sumWordsJs };
