// `npm run bench:worst-case`: the figures behind test/admission/worst-case.test.ts. For each rule
// family's generated 1.4 MB object: CPU and wall time of the decision in-process, and, through the
// HTTP app (large bodies go to the worker pool), the answer's time and /healthz's meanwhile.
import type { AddressInfo } from "node:net";
import { admit } from "../src/admission/handle.ts";
import { admissionPolicy } from "../src/admission/policy.ts";
import { parseAdmissionReview } from "../src/admission/review.ts";
import { parseConfig } from "../src/config.ts";
import { testApp } from "../test/helpers/app.ts";
import { timedRequest, worstCases } from "../test/helpers/worst-case.ts";

const CONFIG = { allowedIngressNamespaces: ["monitoring"], isolatedNamespaces: ["team-isolated"] };
const policy = admissionPolicy(parseConfig(CONFIG));
const { app } = testApp(CONFIG);
await app.listen({ host: "127.0.0.1", port: 0 });
const { port } = app.server.address() as AddressInfo;

const send = async (method: string, path: string, body?: string) => (await timedRequest(port, method, path, body)).ms;

console.log(
  "| family | object MB | CPU ms (in-process) | wall ms (in-process) | HTTP answer ms | /healthz meanwhile ms |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const { family, path, review } of worstCases()) {
  const body = JSON.stringify(review);
  const cpu = process.threadCpuUsage();
  const wall = performance.now();
  const parsed = parseAdmissionReview(JSON.parse(body));
  if (!parsed.ok) throw new Error(parsed.error);
  JSON.stringify(admit(path === "/validate" ? "validate" : "mutate", parsed.request, policy).review);
  const used = process.threadCpuUsage(cpu);
  const inProcess = performance.now() - wall;
  const answer = send("POST", path, body);
  await new Promise((r) => setTimeout(r, 100));
  const healthz = await send("GET", "/healthz");
  const mb = JSON.stringify(review.request.object).length / 1048576;
  console.log(
    `| ${family} | ${mb.toFixed(2)} | ${((used.user + used.system) / 1000).toFixed(0)} | ${inProcess.toFixed(0)} | ${(await answer).toFixed(0)} | ${healthz.toFixed(0)} |`,
  );
}
await app.close();
