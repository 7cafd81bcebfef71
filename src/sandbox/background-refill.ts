// One background refill at a time, started off the caller's path (next turn of
// the event loop); its last failure is kept for stats and tests.
export class BackgroundRefill {
  private running: Promise<void> | null = null;
  lastError: Error | null = null;

  constructor(private readonly work: () => Promise<void>, private readonly allowed: () => boolean) {}

  kick(): void {
    if (!this.allowed() || this.running) return;
    this.running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.work())
      .catch((error: Error) => {
        this.lastError = error;
      })
      .finally(() => {
        this.running = null;
      });
  }

  /** Resolves when no refill is running. */
  async settled(): Promise<void> {
    await this.running;
  }
}
