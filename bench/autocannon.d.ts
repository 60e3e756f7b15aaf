// autocannon ships no types; this covers the part bench/load.ts uses.
declare module "autocannon" {
  import type { EventEmitter } from "node:events";

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      [extra: string]: unknown;
    }
    interface Client extends EventEmitter {
      setRequests(requests: Request[]): void;
      requestIterator: { currentRequest: Request };
    }
    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      duration?: number;
      timeout?: number;
      requests?: Request[];
      setupClient?: (client: Client) => void;
      verifyBody?: (body: string) => boolean;
      tlsOptions?: Record<string, unknown>;
    }
    interface Result {
      errors: number;
      timeouts: number;
      non2xx: number;
      mismatches: number;
      duration: number;
    }
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  export default autocannon;
}
