// One background refill at a time, started off the caller's path (next turn of
// the event loop); its last failure is kept for stats and tests.
export class BackgroundRefill {
    work;
    allowed;
    running = null;
    lastError = null;
    constructor(work, allowed) {
        this.work = work;
        this.allowed = allowed;
    }
    kick() {
        if (!this.allowed() || this.running)
            return;
        this.running = new Promise((resolve) => setImmediate(resolve))
            .then(() => this.work())
            .catch((error) => {
            this.lastError = error;
        })
            .finally(() => {
            this.running = null;
        });
    }
    /** Resolves when no refill is running. */
    async settled() {
        await this.running;
    }
}
//# sourceMappingURL=background-refill.js.map