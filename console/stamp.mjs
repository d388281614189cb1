// Writes dist/SOURCES.sha256: a digest of every file the build reads. The aerie binary embeds
// dist/, and a Rust test (crates/server/src/web/console.rs) recomputes the digest, so a change
// to the sources without a rebuild of dist/ fails the tests instead of shipping stale assets.
//
// Digest: SHA-256 over, for each file in path order, "<path>\n<sha256 of its bytes>\n".

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL(".", import.meta.url).pathname;
const TOP = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"];

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

const files = [...TOP, ...walk(join(root, "src")).map((path) => relative(root, path))].sort();
const digest = createHash("sha256");
for (const file of files) {
  const content = createHash("sha256").update(readFileSync(join(root, file))).digest("hex");
  digest.update(`${file}\n${content}\n`);
}
writeFileSync(join(root, "dist", "SOURCES.sha256"), `${digest.digest("hex")}\n`);
