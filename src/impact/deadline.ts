// The impact check's time budget. The computation is synchronous, so it cannot be interrupted; it
// asks at its checkpoints (every few hundred pairs) and gives up there, which keeps the overshoot to
// one checkpoint's work.
export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
}

export class Deadline {
  private readonly end: number;
  private readonly now: () => number;
  constructor(budgetMs: number, now: () => number = performance.now.bind(performance)) {
    this.now = now;
    this.end = now() + budgetMs;
  }

  check(): void {
    if (this.now() > this.end) throw new DeadlineExceeded("past the impact deadline");
  }
}
