// Writes config/rotator.schema.json, the JSON Schema of the configuration, from src/config/schema.ts.
//   npm run build:schema
// test/unit/config-schema.test.ts fails when the committed file differs from a fresh generation.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { configJsonSchema } from '../src/config/json-schema.js';

export const SCHEMA_FILE = join(import.meta.dirname, '..', 'config', 'rotator.schema.json');
/** The file's text: the schema as the repository's formatter writes JSON. */
export const schemaText = async () =>
  format(JSON.stringify(configJsonSchema()), { ...(await resolveConfig(SCHEMA_FILE)), filepath: SCHEMA_FILE });

if (process.argv[1] === import.meta.filename) {
  writeFileSync(SCHEMA_FILE, await schemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
