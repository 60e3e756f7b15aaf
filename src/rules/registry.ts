// The rule registry: every rule netfence knows, in the order the docs list them. The engine, the
// config's `rules:` validation, docs/rules.md, SARIF and `--help` read it; adding a rule is one
// rule object in its family file and one line here.
import { z } from "zod";
import { NP050, NP051, NP052, NP053 } from "../impact/rules.ts";
import { NP020, NP021, NP022, NP023, NP024, NP025 } from "./cidr.ts";
import { KP001, KP002 } from "./kubeproxy.ts";
import { NS001 } from "./namespace.ts";
import { NP001, NP002, NP003, NP004, NP010, NP040, NP041, NP042 } from "./networkpolicy.ts";
import { NP030, NP031, NP032, NP033, NP034 } from "./ports.ts";
import type { AnyRule, Rule, Site } from "./rule.ts";
import { NP011 } from "./selector.ts";
import { SVC001, SVC002 } from "./service.ts";

export interface RuleRegistry {
  readonly rules: readonly AnyRule[];
  readonly ids: readonly string[];
  get(id: string): AnyRule | undefined;
  /** The rules that look at a site, in registry order. */
  at<S extends Site>(site: S): readonly Rule<S>[];
}

const RULE_ID = /^[A-Z]{2,3}\d{3}$/;

export function ruleRegistry(rules: readonly AnyRule[]): RuleRegistry {
  const byId = new Map<string, AnyRule>();
  const bySite = new Map<Site, AnyRule[]>();
  for (const rule of rules) {
    if (!RULE_ID.test(rule.id)) throw new Error(`rule ID ${rule.id}: must be two or three capitals and three digits`);
    if (byId.has(rule.id)) throw new Error(`rule ID ${rule.id} is registered twice`);
    byId.set(rule.id, rule);
    bySite.set(rule.at, [...(bySite.get(rule.at) ?? []), rule]);
  }
  return {
    rules,
    ids: rules.map((rule) => rule.id),
    get: (id) => byId.get(id),
    at: <S extends Site>(site: S) => (bySite.get(site) ?? []) as unknown as readonly Rule<S>[],
  };
}

export const RULES = ruleRegistry([
  NP001,
  NP002,
  NP003,
  NP004,
  NP010,
  NP011,
  NP020,
  NP021,
  NP022,
  NP023,
  NP024,
  NP025,
  NP030,
  NP031,
  NP032,
  NP033,
  NP034,
  NP040,
  NP041,
  NP042,
  NP050,
  NP051,
  NP052,
  NP053,
  SVC001,
  SVC002,
  KP001,
  KP002,
  NS001,
]);

export type ConfiguredAction = "deny" | "warn" | "off";
/** The config's `rules:` map: rule ID to the action that replaces the rule's default. */
export type RuleActions = Readonly<Record<string, ConfiguredAction>>;

/** The schema of the config's `rules:` map: only IDs of this registry, and no denial a rule may not give. */
export function ruleActionsSchema(registry: RuleRegistry): z.ZodType<RuleActions> {
  return z
    .record(
      z.string().refine((id) => registry.get(id) !== undefined, {
        error: `unknown rule ID; known: ${registry.ids.join(", ")}`,
      }),
      z.enum(["deny", "warn", "off"]),
    )
    .superRefine((actions, ctx) => {
      for (const [id, action] of Object.entries(actions)) {
        const rule = registry.get(id);
        if (action === "deny" && rule?.maxAction === "warn") {
          ctx.addIssue({ code: "custom", path: [id], message: `${id} never denies (${rule.title}); use warn or off` });
        }
      }
    });
}
