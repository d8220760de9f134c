// The live servers the tests drive, from the environment. A missing one fails loudly: a
// test that silently skips would pass CI without testing anything.

export interface TestEnv {
  /** Node A. */
  url: string;
  /** Node B: another node on the same database and Redis (node A when unset). */
  urlB: string;
  operatorToken: string;
  chromiumPath: string;
}

export function testEnv(): TestEnv {
  const url = process.env["TROLLEY_URL"];
  const operatorToken = process.env["TROLLEY_OPERATOR_TOKEN"];
  const missing = [
    url ? undefined : "TROLLEY_URL (a running `trolley serve`, e.g. http://127.0.0.1:8080)",
    operatorToken ? undefined : "TROLLEY_OPERATOR_TOKEN (the operator token that server was started with)",
  ].filter((m) => m !== undefined);
  if (url === undefined || operatorToken === undefined || missing.length > 0) {
    throw new Error(
      `These tests drive a live Trolley server. Set ${missing.join(" and ")}.\n` +
        "Example: TROLLEY_OPERATOR_TOKEN=op trolley serve --listen 127.0.0.1:18080 --data-dir /tmp/t &\n" +
        "         TROLLEY_URL=http://127.0.0.1:18080 TROLLEY_OPERATOR_TOKEN=op npm test",
    );
  }
  return {
    url: trimSlash(url),
    urlB: trimSlash(process.env["TROLLEY_URL_B"] || url),
    operatorToken,
    chromiumPath: process.env["CHROMIUM_PATH"] || "/usr/bin/chromium",
  };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
