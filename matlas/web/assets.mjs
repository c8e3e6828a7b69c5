// Copies the browser files the web app serves from node_modules to matlas/web/static/vendor
// (run by `npm ci` as the postinstall step; the copies are git-ignored, never edited by hand).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const vendor = join(root, "matlas", "web", "static", "vendor");
const files = {
  "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
  "htmx-sse.js": "node_modules/htmx-ext-sse/dist/sse.min.js",
  "3Dmol-min.js": "node_modules/3dmol/build/3Dmol-min.js",
};
mkdirSync(vendor, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(root, source), join(vendor, name));
  console.log(`matlas web: ${source} -> matlas/web/static/vendor/${name}`);
}
