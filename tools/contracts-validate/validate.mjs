// Validates every committed AsyncAPI document with the official AsyncAPI parser, and every OpenAPI document
// with @apidevtools/swagger-parser (schema + $ref validation). Exit 1 on any error, naming file and path.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Parser } from "@asyncapi/parser";
import SwaggerParser from "@apidevtools/swagger-parser";

const contracts = process.argv[2] ?? "../../contracts";
let failures = 0;
const parser = new Parser();

for (const file of readdirSync(join(contracts, "asyncapi")).filter((f) => f.endsWith(".json")).sort()) {
  const path = join(contracts, "asyncapi", file);
  const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (!document || errors.length) {
    failures += 1;
    for (const d of errors) console.error(`${path}: ${d.message} at ${JSON.stringify(d.path)}`);
  } else {
    console.log(`${path}: valid AsyncAPI ${document.version()} (${document.channels().length} channels, ` +
      `${document.operations().length} operations, ${diagnostics.length} notes)`);
  }
}

for (const file of readdirSync(join(contracts, "openapi")).filter((f) => f.endsWith(".json")).sort()) {
  const path = join(contracts, "openapi", file);
  try {
    const api = await SwaggerParser.validate(JSON.parse(readFileSync(path, "utf8")));
    console.log(`${path}: valid OpenAPI ${api.openapi} (${Object.keys(api.paths ?? {}).length} paths)`);
  } catch (err) {
    failures += 1;
    console.error(`${path}: ${err.message}`);
  }
}
process.exit(failures ? 1 : 0);
