// A seeded pseudo-random generator (mulberry32) and the distributions the
// workloads draw from, so that every run with the same seed sends the same calls.

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  exponential(rate: number): number {
    return -Math.log(1 - this.next()) / rate;
  }

  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Index in [0, n) with probability proportional to 1 / (i + 1)^s. */
  zipf(n: number, s: number): number {
    let total = 0;
    for (let i = 0; i < n; i++) total += 1 / (i + 1) ** s;
    let r = this.next() * total;
    for (let i = 0; i < n; i++) {
      r -= 1 / (i + 1) ** s;
      if (r <= 0) return i;
    }
    return n - 1;
  }

  /** Rounds x up or down at random so that the expectation is x. */
  roundStochastic(x: number): number {
    const floor = Math.floor(x);
    return floor + (this.next() < x - floor ? 1 : 0);
  }
}
