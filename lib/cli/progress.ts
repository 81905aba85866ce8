/**
 * Progress of the CLI's long steps on stderr: a bar (cli-progress, a devDependency like the demo's
 * data; the library itself does not need it) when stderr is a terminal, one plain line per finished
 * step otherwise (CI logs, pipes), so stdout carries only the results.
 */
interface Bar {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  setTotal(total: number): void;
  stop(): void;
}

export class Progress {
  #bar: Bar | undefined;
  #step = '';
  #started = 0;
  readonly #tty: boolean;

  constructor(readonly enabled = true) {
    this.#tty = enabled && process.stderr.isTTY === true;
    if (this.#tty) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const progress = require('cli-progress') as {
          SingleBar: new (options: object, preset: object) => Bar;
          Presets: { shades_classic: object };
        };
        this.#bar = new progress.SingleBar(
          { format: '{bar} {percentage}% | {value}/{total} | {step}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
          progress.Presets.shades_classic,
        );
      } catch {
        this.#bar = undefined; // not installed: plain lines
      }
    }
  }

  /** `done` of `total` in step `step`; a new step name ends the last. */
  update(step: string, done: number, total: number): void {
    if (!this.enabled) return;
    if (step !== this.#step) {
      this.#finish();
      this.#step = step;
      this.#started = performance.now();
      this.#bar?.start(total, 0, { step });
    }
    this.#bar?.setTotal(total);
    this.#bar?.update(done, { step });
    if (done >= total) this.#finish();
  }

  #finish(): void {
    if (!this.#step) return;
    this.#bar?.stop();
    if (!this.#bar) process.stderr.write(`  ${this.#step} (${((performance.now() - this.#started) / 1000).toFixed(1)} s)\n`);
    this.#step = '';
  }

  done(): void {
    this.#finish();
  }
}
