// The HTTPS edge of the KubeClient, against a small HTTPS server that answers as the API server does:
// credentials from the kubeconfig, content types per call, statuses into one error type, and a watch
// stream whose events arrive split across chunks, with bookmarks and a 410 ERROR event.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import t from "tap";
import { z } from "zod";
import { httpKubeClient, KubeApiError, listAll, type WatchEvent } from "../../src/kube/client.ts";
import { NamespaceSchema } from "../../src/kube-objects.ts";
import { generateCertificates } from "../../src/server/certificates.ts";

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
}

async function apiServer(t: { teardown(fn: () => unknown): void }, answer: (req: Seen, res: ServerResponse) => void) {
  const certs = await generateCertificates({ ipAddresses: ["127.0.0.1"] });
  const seen: Seen[] = [];
  const server = createServer({ cert: certs.cert, key: certs.key }, (req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk));
    req.on("end", () => {
      const request = {
        method: req.method!,
        url: req.url!,
        contentType: req.headers["content-type"],
        authorization: req.headers.authorization,
        body,
      };
      seen.push(request);
      answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address() as { port: number };
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      { name: "c", server: `https://127.0.0.1:${address.port}`, caData: Buffer.from(certs.caCert).toString("base64") },
    ],
    users: [{ name: "u", token: "test-token" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return { client: httpKubeClient(config), seen };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

t.test("list pages with limit/continue, typed items, the first page's resourceVersion, the bearer token", async (t) => {
  const { client, seen } = await apiServer(t, (req, res) => {
    const page = new URL(req.url, "https://x").searchParams.get("continue");
    json(res, 200, {
      kind: "NamespaceList",
      apiVersion: "v1",
      metadata: page ? { resourceVersion: "20" } : { resourceVersion: "10", continue: "next" },
      items: [{ metadata: { name: page ? "b" : "a" } }],
    });
  });
  const list = await listAll(client, "/api/v1/namespaces", NamespaceSchema, { pageSize: 1 });
  t.same(
    list.items.map((ns) => ns.metadata?.name),
    ["a", "b"],
  );
  t.equal(list.resourceVersion, "10");
  t.same(
    seen.map((r) => r.url),
    ["/api/v1/namespaces?limit=1", "/api/v1/namespaces?limit=1&continue=next"],
  );
  t.equal(seen[0]!.authorization, "Bearer test-token");
});

t.test(
  "a status >= 400 is a KubeApiError with the status and the API server's message; a wrong shape too",
  async (t) => {
    const { client } = await apiServer(t, (req, res) => {
      if (req.url.includes("conflict"))
        json(res, 409, { kind: "Status", code: 409, message: "the object has been modified" });
      else json(res, 200, { metadata: { name: 7 } });
    });
    const conflict = await client.get("/conflict", NamespaceSchema).catch((error: unknown) => error);
    t.ok(conflict instanceof KubeApiError);
    t.equal((conflict as KubeApiError).status, 409);
    t.match((conflict as KubeApiError).message, "GET /conflict: 409 the object has been modified");
    const shape = await client.get("/ns", NamespaceSchema).catch((error: unknown) => error);
    t.ok(shape instanceof KubeApiError);
    t.equal((shape as KubeApiError).status, undefined, "no HTTP status for a decoding error");
    t.match((shape as KubeApiError).message, "unexpected shape at metadata.name");
  },
);

t.test("server-side apply, merge patch and delete send what the API server expects", async (t) => {
  const { client, seen } = await apiServer(t, (req, res) =>
    json(res, req.method === "PATCH" && req.contentType === "application/apply-patch+yaml" ? 201 : 200, {}),
  );
  t.same(await client.apply("/apis/x/p", { spec: { a: 1 } }, "netfence"), { created: true });
  await client.mergePatch("/apis/x/p", { metadata: { resourceVersion: "3" } }, "netfence");
  await client.delete("/apis/x/p");
  t.same(
    seen.map((r) => [r.method, r.url, r.contentType, r.body]),
    [
      ["PATCH", "/apis/x/p?fieldManager=netfence&force=true", "application/apply-patch+yaml", '{"spec":{"a":1}}'],
      [
        "PATCH",
        "/apis/x/p?fieldManager=netfence",
        "application/merge-patch+json",
        '{"metadata":{"resourceVersion":"3"}}',
      ],
      ["DELETE", "/apis/x/p", undefined, ""],
    ],
  );
});

t.test("a watch: events split across chunks, bookmarks, then a 410 ERROR event ends it with status 410", async (t) => {
  const { client, seen } = await apiServer(t, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    const lines = [
      { type: "ADDED", object: { metadata: { name: "a", resourceVersion: "11" } } },
      { type: "BOOKMARK", object: { metadata: { resourceVersion: "12" } } },
      { type: "DELETED", object: { metadata: { name: "a", resourceVersion: "13" } } },
      { type: "ERROR", object: { kind: "Status", code: 410, message: "too old resource version" } },
    ]
      .map((line) => `${JSON.stringify(line)}\n`)
      .join("");
    // Cut in the middle of a line: the client must join the pieces.
    res.write(lines.slice(0, 30));
    setTimeout(() => res.end(lines.slice(30)), 20);
  });
  const events: WatchEvent<z.infer<typeof NamespaceSchema>>[] = [];
  const ended = await client
    .watch("/api/v1/namespaces", {
      resourceVersion: "10",
      schema: NamespaceSchema,
      onEvent: (event) => events.push(event),
    })
    .catch((error: unknown) => error);
  t.same(
    events.map((e) =>
      e.type === "BOOKMARK" ? `BOOKMARK ${e.resourceVersion}` : `${e.type} ${e.object.metadata?.name}`,
    ),
    ["ADDED a", "BOOKMARK 12", "DELETED a"],
  );
  t.ok(ended instanceof KubeApiError);
  t.equal((ended as KubeApiError).status, 410);
  const query = new URL(seen[0]!.url, "https://x").searchParams;
  t.same([query.get("watch"), query.get("resourceVersion"), query.get("allowWatchBookmarks")], ["1", "10", "true"]);
});

t.test("a watch stops at once when its signal aborts", async (t) => {
  const { client } = await apiServer(t, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write(""); // and never ends
  });
  const abort = new AbortController();
  const watching = client
    .watch("/api/v1/namespaces", {
      resourceVersion: "1",
      schema: NamespaceSchema,
      onEvent: () => {},
      signal: abort.signal,
    })
    .catch((error: unknown) => error);
  setTimeout(() => abort.abort(), 50);
  const ended = await watching;
  t.ok(ended instanceof KubeApiError);
  t.match((ended as KubeApiError).message, /stopped/);
});
