// Copy the pinned three.js from node_modules into web/vendor/ (committed, so users need no Node.js):
// the ES module build (three.module.js imports ./three.core.js), OrbitControls, and the MIT licence beside them.
// Usage (in web/): npm ci && npm run vendor
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const three = join(web, "node_modules", "three");
const { version, license } = JSON.parse(readFileSync(join(three, "package.json"), "utf8"));
const files = {
  "build/three.module.js": "three.module.js",
  "build/three.core.js": "three.core.js",
  "examples/jsm/controls/OrbitControls.js": "addons/controls/OrbitControls.js",
  "LICENSE": "three.LICENSE",
};
for (const [from, to] of Object.entries(files)) {
  mkdirSync(dirname(join(web, "vendor", to)), { recursive: true });
  copyFileSync(join(three, from), join(web, "vendor", to));
}
writeFileSync(join(web, "vendor", "README.md"),
  `# Vendored three.js ${version} (${license} licence: three.LICENSE)\n\n` +
  "Copied from the npm package `three` by `npm run vendor` (web/scripts/vendor.mjs); do not edit.\n" +
  Object.entries(files).map(([from, to]) => `- \`${to}\` <- \`node_modules/three/${from}\`\n`).join(""));
console.log(`vendored three ${version} (${license}) into ${join(web, "vendor")}`);
