// Build the dashboard's partial Plotly bundle from plotly.js's npm package, reproducibly:
// the same package-lock.json gives the same bytes (no timestamps, fixed compression levels).
//
//   node scripts/plotly/build.mjs [out-dir]      (default: src/fuelpipe/dashboard/static)
//
// Writes plotly-partial.min.js, app.min.js (the page's own scripts the first chart needs, in the
// order index.html runs them, minified), outlook.min.js (the Outlook view), health.min.js (the
// Health view) and live.min.js (the live panel), all loaded later,
// each with its .gz and .br forms (precompressed for the server).
import { build, transform } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, brotliCompressSync, gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const out = resolve(process.argv[2] || join(root, "src/fuelpipe/dashboard/static"));
const pkg = JSON.parse(readFileSync(join(root, "node_modules/plotly.js/package.json"), "utf8"));
const banner =
  `/** plotly.js v${pkg.version} partial bundle (core, bar, heatmap, choropleth, pt-BR strings) for fuelpipe.\n` +
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

// Plotly's own words in Portuguese (pt-BR pages set config.locale "pt-BR"): picked from the npm
// package's locale, not copied by hand. Only the strings this dashboard's charts can show (its
// modebar's buttons, with lasso2d, select2d and autoScale2d removed by app.js and stations.js; the PNG
// download's notices; the zoom and legend tips) and the date and number format: the whole
// locale (~3 KB) did not fit the first chart's JavaScript budget. A key the package no longer
// has fails the build instead of leaving an English tooltip.
const PT_BR_STRINGS = [
  "Download plot as a PNG",
  "Zoom",
  "Pan",
  "Zoom in",
  "Zoom out",
  "Reset",
  "Reset axes",
  "Preparing image - this may take a few seconds",
  "Image download succeeded",
  "Sorry, there was a problem downloading your image!",
  "Double-click to zoom back out",
  "Double-click on legend to isolate one trace",
];

function ptBrLocale() {
  const full = createRequire(import.meta.url)(join(root, "node_modules/plotly.js/lib/locales/pt-br.js"));
  const dictionary = {};
  for (const key of PT_BR_STRINGS) {
    if (!(key in full.dictionary)) throw new Error(`plotly.js's pt-br locale has no "${key}"`);
    dictionary[key] = full.dictionary[key];
  }
  // Months and weekdays in lower case, as Portuguese writes them and as the page's own dates
  // do (Intl: "6 de mai. de 2022"); the package capitalises them ("Mai 2022" on an axis).
  const format = Object.assign({}, full.format);
  for (const key of ["days", "shortDays", "months", "shortMonths"]) {
    format[key] = full.format[key].map((word) => word.toLowerCase());
  }
  // The package has no day-and-month formats: Plotly took English's ("abr 22") on a date axis
  // zoomed to days. Day before month, as Portuguese writes it ("22 abr").
  Object.assign(format, { year: "%Y", month: "%b %Y", dayMonth: "%-d %b", dayMonthYear: "%-d %b %Y" });
  return { moduleType: "locale", name: full.name, dictionary, format };
}

// partial.js registers "fuelpipe:plotly-locale-pt-br": the locale above, as a module.
const ptBr = {
  name: "plotly-locale-pt-br",
  setup(b) {
    b.onResolve({ filter: /^fuelpipe:plotly-locale-pt-br$/ }, (args) => ({ path: args.path, namespace: "locale" }));
    b.onLoad({ filter: /.*/, namespace: "locale" }, () => ({
      contents: `module.exports = ${JSON.stringify(ptBrLocale())};`,
      loader: "js",
    }));
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
  plugins: [noCss, ptBr],
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
// app.min.js is what the first chart needs (index.html loads it); outlook.min.js,
// health.min.js and live.min.js are loaded by app.js after the first chart (the first chart's
// JS budget), the Outlook and Health views' sooner when their tab opens.
const staticDir = join(root, "src/fuelpipe/dashboard/static");
const PAGE_BUNDLES = {
  "app.min.js": ["i18n.js", "app.js"],
  "outlook.min.js": ["outlook.js"],
  "health.min.js": ["health.js"],
  "live.min.js": ["live.js"],
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
