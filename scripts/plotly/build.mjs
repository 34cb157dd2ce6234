// Build the dashboard's partial Plotly bundle from plotly.js's npm package, reproducibly:
// the same package-lock.json gives the same bytes (no timestamps, fixed compression levels).
//
//   node scripts/plotly/build.mjs [out-dir]      (default: src/fuelpipe/dashboard/static)
//
// Writes plotly-partial.min.js, app.min.js (the page's own scripts the first chart needs, in the
// order index.html runs them, minified) and outlook.min.js (the Outlook view, loaded later),
// each with its .gz and .br forms (precompressed for the server).
import { build, transform } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, brotliCompressSync, gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const out = resolve(process.argv[2] || join(root, "src/fuelpipe/dashboard/static"));
const pkg = JSON.parse(readFileSync(join(root, "node_modules/plotly.js/package.json"), "utf8"));
const banner =
  `/** plotly.js v${pkg.version} partial bundle (core, bar, heatmap, choropleth) for fuelpipe.\n` +
  ` * Copyright 2012-2026, Plotly, Inc. Licensed under the MIT license. Built by\n` +
  ` * scripts/plotly/build.mjs from the npm package; do not edit. */`;

// registry.js requires maplibre-gl's CSS for the "map" subplot, which no trace here uses:
// the import becomes an empty module instead of a stylesheet the page never needs.
const noCss = {
  name: "no-css",
  setup(b) {
    b.onResolve({ filter: /\.css$/ }, (args) => ({ path: args.path, namespace: "no-css" }));
    b.onLoad({ filter: /.*/, namespace: "no-css" }, () => ({ contents: "", loader: "js" }));
  },
};

const result = await build({
  entryPoints: [join(here, "partial.js")],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "Plotly",
  platform: "browser",
  target: ["es2018"],
  legalComments: "eof", // the bundled libraries' licence notices, at the end
  banner: { js: banner },
  define: { "process.env.NODE_ENV": '"production"', global: "window", "define.amd": "false" },
  plugins: [noCss],
  absWorkingDir: root,
  write: false,
  logLevel: "warning",
});
mkdirSync(out, { recursive: true });

function emit(file, js) {
  const name = join(out, file);
  writeFileSync(name, js);
  writeFileSync(name + ".gz", gzipSync(js, { level: 9 }));
  writeFileSync(
    name + ".br",
    brotliCompressSync(js, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: js.length,
      },
    }),
  );
  console.log(`${name}: ${js.length} bytes`);
}

emit("plotly-partial.min.js", Buffer.from(result.outputFiles[0].contents));

// The page's own scripts (each an IIFE on window globals), concatenated in the order they run:
// app.min.js is what the first chart needs (index.html loads it); outlook.min.js is loaded by
// app.js when the Outlook tab opens or after the first chart (the first chart's JS budget).
const staticDir = join(root, "src/fuelpipe/dashboard/static");
const PAGE_BUNDLES = {
  "app.min.js": ["i18n.js", "app.js", "live.js"],
  "outlook.min.js": ["outlook.js"],
};
for (const [file, scripts] of Object.entries(PAGE_BUNDLES)) {
  const source = scripts.map((f) => readFileSync(join(staticDir, f), "utf8")).join(";\n");
  const minified = await transform(source, {
    loader: "js",
    minify: true,
    target: ["es2018"],
    legalComments: "none",
    banner: `/* fuelpipe dashboard: ${scripts.join(", ")} minified by scripts/plotly/build.mjs; do not edit. */`,
  });
  emit(file, Buffer.from(minified.code));
}
