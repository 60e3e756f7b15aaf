import type { Impact } from "./impact.ts";

/** What the impact rules look at: the impact, or why it was not computed. */
export type ImpactOutcome = { impact: Impact } | { skipped: string };
