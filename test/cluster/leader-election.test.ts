// Leader election over a Lease in the fake API server: one leader at a time, a clean stop hands over
// at once, a dead leader is replaced after the lease duration and not before, and a leader that
// cannot renew stops leading before anyone else may start.
import pino from "pino";
import t from "tap";
import { LeaderElector, ownNamespace } from "../../src/cluster/leader-election.ts";
import { parseConfig } from "../../src/config.ts";
import { eventually, FakeKubeClient } from "../helpers/fake-kube-client.ts";

const log = pino({ level: "silent" });
const LEASE = "/apis/coordination.k8s.io/v1/namespaces/netfence/leases/netfence";

function elector(
  api: FakeKubeClient,
  identity: string,
  timing = { leaseDurationMs: 400, renewDeadlineMs: 250, retryPeriodMs: 40 },
) {
  const state = { leading: false, transitions: 0 };
  const candidate = new LeaderElector(api, {
    namespace: "netfence",
    name: "netfence",
    identity,
    ...timing,
    log,
    onStartedLeading: () => {
      state.leading = true;
      state.transitions++;
    },
    onStoppedLeading: () => {
      state.leading = false;
    },
  });
  return { candidate, state };
}

t.test("the first candidate takes the Lease, the second waits", async (t) => {
  const api = new FakeKubeClient();
  const a = elector(api, "a");
  const b = elector(api, "b");
  a.candidate.start();
  await eventually("a leads", () => a.state.leading);
  b.candidate.start();
  t.teardown(async () => {
    await a.candidate.stop();
    await b.candidate.stop();
  });
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.notOk(b.state.leading, "b does not lead while a renews, past the lease duration");
  t.equal(api.objects.get(LEASE)?.spec.holderIdentity, "a");
  t.equal(
    api.objects.get(LEASE)?.spec.leaseDurationSeconds,
    1,
    "the duration is written in whole seconds (at least 1)",
  );
});

t.test("a leader that stops releases the Lease; the other takes over without waiting for it to expire", async (t) => {
  const api = new FakeKubeClient();
  const slow = { leaseDurationMs: 60_000, renewDeadlineMs: 30_000, retryPeriodMs: 40 };
  const a = elector(api, "a", slow);
  const b = elector(api, "b", slow);
  a.candidate.start();
  await eventually("a leads", () => a.state.leading);
  b.candidate.start();
  t.teardown(() => b.candidate.stop());
  await a.candidate.stop();
  t.notOk(a.state.leading);
  await eventually("b leads", () => b.state.leading);
  t.equal(api.objects.get(LEASE)?.spec.holderIdentity, "b");
  t.equal(api.objects.get(LEASE)?.spec.leaseTransitions, 1);
});

t.test("a leader that dies (no release) is replaced once its lease has expired", async (t) => {
  const api = new FakeKubeClient();
  // a's own view of the API server, cut when a "dies" (a clean stop() would release the Lease).
  let dead = false;
  const aView = Object.assign(Object.create(api) as FakeKubeClient, {
    get: (...args: Parameters<FakeKubeClient["get"]>) => (dead ? Promise.reject(new Error("dead")) : api.get(...args)),
    replace: (...args: Parameters<FakeKubeClient["replace"]>) =>
      dead ? Promise.reject(new Error("dead")) : api.replace(...args),
  });
  const a = elector(aView, "a");
  const b = elector(api, "b");
  a.candidate.start();
  await eventually("a leads", () => a.state.leading);
  b.candidate.start();
  t.teardown(() => b.candidate.stop());
  const aliveUntil = Date.now();
  dead = true;
  await eventually("b leads", () => b.state.leading);
  t.ok(
    Date.now() - aliveUntil >= 400 - 40,
    `b took over ${Date.now() - aliveUntil} ms after a's last renewal, not before the lease duration`,
  );
  await eventually("a knows it lost", () => !a.state.leading);
  await a.candidate.stop();
});

t.test("a leader that cannot reach the API server stops leading after the renew deadline", async (t) => {
  const api = new FakeKubeClient();
  const a = elector(api, "a");
  a.candidate.start();
  t.teardown(() => a.candidate.stop());
  await eventually("a leads", () => a.state.leading);
  api.takeDown();
  // The deadline runs from the last renewal the API server stored (read after the cut: no renewal
  // gets through any more), not from the cut, which a loaded machine may reach long after it.
  const lastRenewal = Date.parse(String(api.objects.get(LEASE)?.spec.renewTime));
  await eventually("a stops leading", () => !a.state.leading);
  const after = Date.now() - lastRenewal;
  t.ok(after >= 250, `stopped ${after} ms after the last renewal, past the renew deadline (250 ms)`);
  api.up();
  await eventually("a leads again", () => a.state.leading);
  t.equal(a.state.transitions, 2);
});

t.test("the Lease lives in the namespace netfence runs in, or default outside a cluster", async (t) => {
  t.equal(
    ownNamespace(() => "netfence-system\n"),
    "netfence-system",
  );
  t.equal(
    ownNamespace(() => {
      throw new Error("ENOENT");
    }),
    "default",
  );
});

t.test(
  "config: a renew deadline not shorter than the lease duration is refused (two leaders could overlap)",
  async (t) => {
    t.throws(
      () => parseConfig({ leaderElection: { leaseDurationSeconds: 10, renewDeadlineSeconds: 10 } }),
      /leaderElection\.renewDeadlineSeconds: renewDeadlineSeconds must be less than leaseDurationSeconds/,
    );
    t.same(parseConfig({}).leaderElection, {
      enabled: true,
      leaseName: "netfence",
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
    });
  },
);
