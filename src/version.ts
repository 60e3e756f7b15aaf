import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// package.json sits one level above src/ and dist/ alike.
export const VERSION: string = (require("../package.json") as { version: string }).version;
