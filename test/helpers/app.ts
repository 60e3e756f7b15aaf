import { admissionPolicy } from "../../src/admission/policy.ts";
import { parseConfig, type ConfigInput } from "../../src/config.ts";
import { buildApp } from "../../src/server/app.ts";
import { createMetrics } from "../../src/metrics.ts";

/** The app as `serve` builds it, without sockets, from a config like the user's file. */
export function testApp(config: ConfigInput = {}, isIsolated: (ns: string) => boolean = () => false) {
  const parsed = parseConfig(config);
  const metrics = createMetrics({ processMetrics: false });
  const app = buildApp({
    policy: admissionPolicy(parsed, { isIsolated }),
    bodyLimitBytes: parsed.bodyLimitBytes,
    metrics,
  });
  return { app, metrics };
}

export function decodePatch(patch: string | undefined): unknown {
  return patch === undefined ? undefined : JSON.parse(Buffer.from(patch, "base64").toString("utf8"));
}
