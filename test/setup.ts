/**
 * Run before every test file (vitest.config.mts). vitest's worker reports progress to the main
 * process over RPC with a 60 s timeout, and the answers arrive as event-loop tasks: a file of long
 * synchronous tests run back to back (the model suites) can keep them waiting past it on a loaded
 * machine ("Timeout calling onTaskUpdate", an error that fails the run). One event-loop turn after
 * each test lets them through.
 */
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
