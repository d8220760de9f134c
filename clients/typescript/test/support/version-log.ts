// What a cart subscription saw: the event ids (cart versions) in arrival order, and a way to
// wait until it has seen a version.

export class VersionLog {
  /** Event ids as numbers, in the order they arrived. */
  readonly ids: number[] = [];
  /** Events whose id was not the version of the cart they carried. */
  readonly mismatches: string[] = [];
  private failure: unknown;
  private readonly waiters: Array<{ version: number; resolve: () => void; reject: (e: unknown) => void }> =
    [];

  add(cart: { version: number }, id: string | undefined): void {
    if (id !== String(cart.version)) this.mismatches.push(`id ${id} carried version ${cart.version}`);
    this.ids.push(Number(id ?? Number.NaN));
    for (const waiter of [...this.waiters]) {
      if (cart.version >= waiter.version) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  fail(error: unknown): void {
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** Resolves once a cart of `version` or newer arrived; rejects after `timeoutMs`. */
  reach(version: number, timeoutMs = 10_000): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ids.some((id) => id >= version)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(
          this.waiters.findIndex((w) => w.resolve === done),
          1,
        );
        reject(
          new Error(
            `the subscription did not see version ${version} within ${timeoutMs} ms; it saw [${this.ids.join(", ")}]`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({
        version,
        resolve: done,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }
}
