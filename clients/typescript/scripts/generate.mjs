#!/usr/bin/env node
// Generates src/generated/schema.ts from the server's committed OpenAPI document, or with
// `--check` generates into a temporary file and fails when the committed file differs.
// One script for both, so the check can never use other options than the generation.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const spec = resolve(root, "../../openapi/openapi.json");
const committed = join(root, "src/generated/schema.ts");
const cli = join(root, "node_modules/openapi-typescript/bin/cli.js");

function generate(output) {
  // `--empty-objects-unknown`: a free-form object (a problem's `current_line`) is `unknown`
  // to narrow, not `Record<string, never>`, which no value fits.
  execFileSync(process.execPath, [cli, spec, "--output", output, "--empty-objects-unknown"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

if (!process.argv.includes("--check")) {
  generate(committed);
  console.log(`generated ${relative(root, committed)} from ${relative(root, spec)}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "trolley-schema-"));
try {
  const fresh = join(dir, "schema.ts");
  generate(fresh);
  let current;
  try {
    current = readFileSync(committed, "utf8");
  } catch {
    current = undefined;
  }
  if (current !== readFileSync(fresh, "utf8")) {
    console.error(
      `${relative(root, committed)} is out of date with ${relative(root, spec)}.\n` +
        "Run `npm run generate` in clients/typescript and commit the result " +
        "(never edit the generated file by hand).",
    );
    process.exit(1);
  }
  console.log(`${relative(root, committed)} matches ${relative(root, spec)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
