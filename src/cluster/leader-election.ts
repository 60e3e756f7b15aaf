// Leader election over a coordination.k8s.io Lease, as client-go and controller-runtime do it: every
// replica serves admission, only the holder of the Lease runs the reconciler. The holder renews every
// retry period; a candidate takes the Lease once it has seen no renewal for the lease duration
// (measured on its own clock from when it last saw the record change, so clock skew between nodes
// does not matter). A leader that cannot renew for the renew deadline (shorter than the lease
// duration) stops reconciling before anyone else may start. A leader that stops cleanly releases
// the Lease, so a rolling update hands over at once.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { abortableSleep } from "./abortable-sleep.ts";
import { z } from "zod";
import { KubeApiError, paths, statusOf, type KubeClient } from "../kube/client.ts";

const FIELD_MANAGER = "netfence";

const LeaseSchema = z
  .object({
    metadata: z
      .object({ name: z.string(), namespace: z.string().optional(), resourceVersion: z.string().optional() })
      .loose(),
    spec: z
      .object({
        holderIdentity: z.string().nullish(),
        leaseDurationSeconds: z.number().int().nullish(),
        acquireTime: z.string().nullish(),
        renewTime: z.string().nullish(),
        leaseTransitions: z.number().int().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();
type Lease = z.infer<typeof LeaseSchema>;

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  now?: () => number;
}

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** The namespace netfence runs in (in a cluster), where its Lease lives; `default` outside a cluster. */
export function ownNamespace(readFile: (path: string) => string = (path) => readFileSync(path, "utf8")): string {
  try {
    return readFile(SERVICE_ACCOUNT_NAMESPACE).trim() || "default";
  } catch {
    return "default";
  }
}

/** Unique per process: the pod name (the hostname in a pod) and the process id. */
export const defaultIdentity = () => `${hostname()}_${process.pid}`;

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly options: LeaderElectionOptions;
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private leading = false;
  private lease: Lease | undefined;
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    this.client = client;
    this.options = options;
  }

  private get now() {
    return (this.options.now ?? Date.now)();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.running !== undefined) return;
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal);
  }

  /** Stops campaigning; a leader stops leading and releases the Lease. */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
    if (this.leading) {
      this.setLeading(false);
      await this.release();
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs, log } = this.options;
    let lastRenewal = 0;
    while (!signal.aborted) {
      const outcome = await this.tryAcquireOrRenew().catch((error: unknown) => {
        log.debug(
          { err: { message: (error as Error).message }, status: statusOf(error) },
          "leader election: could not read or write the Lease",
        );
        return "error" as const;
      });
      if (signal.aborted) return;
      if (outcome === "held") {
        lastRenewal = this.now;
        if (!this.leading) this.setLeading(true);
      } else if (this.leading && (outcome === "taken" || this.now - lastRenewal > renewDeadlineMs)) {
        // Stop before the Lease can expire for the others: never two reconcilers at once.
        this.setLeading(false);
      }
      await abortableSleep(retryPeriodMs, signal);
    }
  }

  private setLeading(leading: boolean) {
    this.leading = leading;
    const { log, namespace, name, identity } = this.options;
    log.info(
      { lease: `${namespace}/${name}`, identity },
      leading
        ? "leader election: this replica leads and reconciles"
        : "leader election: this replica no longer leads; reconciler stopped",
    );
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  /** "held": this replica holds the Lease now; "taken": another live replica does; "error": unknown. */
  private async tryAcquireOrRenew(): Promise<"held" | "taken" | "error"> {
    const { namespace, name, identity, leaseDurationMs } = this.options;
    const now = this.now;
    const leaseDurationSeconds = Math.max(1, Math.round(leaseDurationMs / 1000));
    let current: Lease;
    try {
      current = await this.client.get(paths.lease(namespace, name), LeaseSchema);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      const created = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      };
      try {
        this.lease = LeaseSchema.parse(await this.client.create(paths.lease(namespace), created));
      } catch (createError) {
        if (statusOf(createError) === 409) return "taken";
        throw createError;
      }
      return "held";
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const renewTime = spec.renewTime ?? "";
    if (this.observed === undefined || this.observed.holder !== holder || this.observed.renewTime !== renewTime)
      this.observed = { holder, renewTime, at: now };
    const heldMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== "" && holder !== identity && this.observed.at + heldMs > now) return "taken";
    const renewing = holder === identity;
    const next = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: renewing && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1),
      },
    };
    try {
      this.lease = await this.client.replace(paths.lease(namespace, name), next, LeaseSchema, FIELD_MANAGER);
    } catch (error) {
      // Someone else wrote the Lease between our read and write: they got it.
      if (statusOf(error) === 409) return "taken";
      throw error;
    }
    return "held";
  }

  private async release() {
    const { namespace, name, log } = this.options;
    if (this.lease === undefined) return;
    const spec = this.lease.spec ?? {};
    try {
      await this.client.replace(
        paths.lease(namespace, name),
        {
          ...this.lease,
          spec: {
            leaseDurationSeconds: 1,
            leaseTransitions: spec.leaseTransitions ?? 0,
            renewTime: microTime(this.now),
            acquireTime: microTime(this.now),
          },
        },
        LeaseSchema,
        FIELD_MANAGER,
      );
      log.info({ lease: `${namespace}/${name}` }, "leader election: Lease released");
    } catch (error) {
      log.info(
        { err: { message: (error as KubeApiError).message } },
        "leader election: could not release the Lease; the next leader waits for it to expire",
      );
    }
  }
}
