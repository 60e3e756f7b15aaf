// `npm run test:update-golden`: rewrites the lint golden files from the current renderer. Review the diff.
import { writeFileSync } from "node:fs";
import { GOLDEN_FILES, goldenOutput, goldenPath } from "./golden.ts";

for (const golden of GOLDEN_FILES) {
  writeFileSync(goldenPath(golden.file), goldenOutput(golden));
  process.stdout.write(`wrote test/fixtures/lint/golden/${golden.file}\n`);
}
