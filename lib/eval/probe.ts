/**
 * A logistic-regression probe on embeddings: p(y = 1 | x) = σ(w·x + b), trained by full-batch
 * gradient descent with momentum on the mean log-loss + (λ/2)‖w‖², in f64, from zero weights, so
 * it is deterministic. Trained once on the f32 model's embeddings and then applied unchanged to
 * every variant's: what a user of the embeddings would lose.
 */
export interface ProbeOptions {
  /** L2 strength λ (default 1e-4). */
  l2?: number;
  /** Gradient steps (default 400). */
  steps?: number;
  /** Step size (default 2; the embeddings are unit length). */
  rate?: number;
}

export class LogisticProbe {
  readonly weights: Float64Array;
  bias = 0;

  private constructor(d: number) {
    this.weights = new Float64Array(d);
  }

  /** Trains on x [rows×d] with labels 0/1. */
  static train(x: Float32Array, rows: number, d: number, labels: Uint8Array, opts: ProbeOptions = {}): LogisticProbe {
    const { l2 = 1e-4, steps = 400, rate = 2 } = opts;
    const probe = new LogisticProbe(d);
    const w = probe.weights;
    const velocity = new Float64Array(d + 1);
    const gradient = new Float64Array(d + 1);
    for (let step = 0; step < steps; step++) {
      gradient.fill(0);
      for (let i = 0; i < rows; i++) {
        const error = probe.#probability(x, i, d) - labels[i]!;
        for (let j = 0; j < d; j++) gradient[j] = gradient[j]! + error * x[i * d + j]!;
        gradient[d] = gradient[d]! + error;
      }
      for (let j = 0; j <= d; j++) {
        const g = gradient[j]! / rows + (j < d ? l2 * w[j]! : 0);
        velocity[j] = 0.9 * velocity[j]! - rate * g;
      }
      for (let j = 0; j < d; j++) w[j] = w[j]! + velocity[j]!;
      probe.bias += velocity[d]!;
    }
    return probe;
  }

  #probability(x: Float32Array, i: number, d: number): number {
    let z = this.bias;
    for (let j = 0; j < d; j++) z += this.weights[j]! * x[i * d + j]!;
    return 1 / (1 + Math.exp(-z));
  }

  /** The fraction of rows of x [rows×d] whose predicted class (p ≥ ½) is their label. */
  accuracy(x: Float32Array, rows: number, labels: Uint8Array): number {
    const d = this.weights.length;
    let right = 0;
    for (let i = 0; i < rows; i++) if ((this.#probability(x, i, d) >= 0.5 ? 1 : 0) === labels[i]) right++;
    return rows ? right / rows : NaN;
  }
}
