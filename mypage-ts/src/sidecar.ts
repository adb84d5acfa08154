// The Dapr sidecar's state API over HTTP (DAPR_HTTP_PORT), with the app's DAPR_API_TOKEN.
// Every write is first-write: with the ETag read before it, or create-only without one.

export interface Item {
  value: unknown;
  etag: string;
}

export class StoreError extends Error {}

const writeOptions = { concurrency: "first-write", consistency: "strong" };

export class Sidecar {
  private readonly base: string;

  constructor(host: string, port: number, private readonly token: string, readonly store: string) {
    this.base = `http://${host}:${port}/v1.0`;
  }

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Response> {
    try {
      return await fetch(this.base + path, {
        method,
        headers: { "dapr-api-token": this.token, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new StoreError(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async failed(res: Response, what: string): Promise<StoreError> {
    return new StoreError(`${what}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  }

  private key(key: string): string {
    return `/state/${encodeURIComponent(this.store)}/${encodeURIComponent(key)}`;
  }

  // get reads a document and its ETag; undefined when there is none.
  async get(key: string, timeoutMs?: number): Promise<Item | undefined> {
    const res = await this.call("GET", this.key(key), undefined, {}, timeoutMs);
    if (res.status === 204) return undefined;
    if (res.status !== 200) throw await this.failed(res, `read ${key}`);
    const text = await res.text();
    if (text === "") return undefined;
    return { value: JSON.parse(text), etag: res.headers.get("etag") ?? "" };
  }

  // save writes a document: over the version etag names, or only if there is none yet.
  async save(key: string, value: unknown, etag?: string): Promise<void> {
    const item: Record<string, unknown> = { key, value, options: writeOptions };
    if (etag) item.etag = etag;
    const res = await this.call("POST", `/state/${encodeURIComponent(this.store)}`, [item]);
    if (res.status !== 204 && res.status !== 200) throw await this.failed(res, `write ${key}`);
  }

  // getBulk reads many documents at once; keys without a document are left out.
  async getBulk(keys: string[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    if (keys.length === 0) return found;
    const res = await this.call("POST", `/state/${encodeURIComponent(this.store)}/bulk`, { keys, parallelism: 8 });
    if (res.status !== 200) throw await this.failed(res, "read in bulk");
    const items = (await res.json()) as { key: string; data?: unknown; etag?: string; error?: string }[];
    const missing: string[] = [];
    for (const it of items) {
      if (it.error) throw new StoreError(`read ${it.key}: ${it.error}`);
      if (it.data === undefined || it.data === null || it.data === "") missing.push(it.key);
      else found.set(it.key, { value: it.data, etag: it.etag ?? "" });
    }
    // Some stores report a key missing in bulk that a single read finds.
    for (const key of missing) {
      const it = await this.get(key);
      if (it) found.set(key, it);
    }
    return found;
  }

  // delete removes a document, only the version etag names.
  async delete(key: string, etag: string): Promise<void> {
    const query = "?concurrency=first-write&consistency=strong";
    const res = await this.call("DELETE", this.key(key) + query, undefined, { "If-Match": etag });
    if (res.status !== 204 && res.status !== 200) throw await this.failed(res, `delete ${key}`);
  }

  // answers reports whether the sidecar's API is up (whatever it says of its health).
  async answers(): Promise<boolean> {
    return (await this.probe(2000)) === "answered";
  }

  // stopped reports whether the sidecar's API refuses connections: it has stopped its servers
  // and forwards nothing more. A sidecar too busy to answer within a second is still there.
  async stopped(): Promise<boolean> {
    return (await this.probe(1000)) === "refused";
  }

  private async probe(timeoutMs: number): Promise<"answered" | "refused" | "timed out"> {
    try {
      await fetch(`${this.base}/healthz/outbound`, { signal: AbortSignal.timeout(timeoutMs) });
      return "answered";
    } catch (err) {
      return err instanceof DOMException && err.name === "TimeoutError" ? "timed out" : "refused";
    }
  }
}
