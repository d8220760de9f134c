// A tiny HTTP server on a free loopback port, serving pages whose scripts call Trolley from
// another origin.

import { type IncomingHttpHeaders, type OutgoingHttpHeaders, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface Resource {
  type: string;
  body: string | Buffer;
}

export interface PageServer {
  /** `http://127.0.0.1:<port>`: the origin a page served here runs in. */
  origin: string;
  close(): Promise<void>;
}

export async function startPageServer(resolve: (path: string) => Resource | undefined): Promise<PageServer> {
  const server = createServer((req, res) => {
    const resource = resolve(new URL(req.url ?? "/", "http://page").pathname);
    if (!resource) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": resource.type, "Cache-Control": "no-store" }).end(resource.body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request with exactly these headers (an `Origin` included), as a browser would send it. */
export function rawRequest(url: string, method: string, headers: OutgoingHttpHeaders): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The lower-cased names of a comma-separated header list. */
export function headerList(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(",") : (value ?? "");
  return joined
    .split(",")
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== "");
}
