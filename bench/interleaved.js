'use strict';
// What the suites timed in interleaved rounds (lowrank, cluster, model) share: a median, and the
// time of a call repeated for a while.

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Microseconds per call: one warm-up call, then the calls in turn (each at least once) for at
 * least `ms` milliseconds. Several calls cycle through operands (cold weights, say).
 */
function microseconds(calls, ms) {
  calls[0]();
  let i = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    calls[i++ % calls.length]();
    elapsed = Number(process.hrtime.bigint() - start) / 1e3;
  } while (elapsed < ms * 1e3 || i < calls.length);
  return elapsed / i;
}

module.exports = { median, microseconds };
