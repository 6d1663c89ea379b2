import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CORE_SCHEMA, load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, schemaText } from '../../scripts/config-schema.js';

/** config/rotator.schema.json: generated from the zod schema, shipped, and what editors check configurations with. */

const committed = () => readFileSync(SCHEMA_FILE, 'utf8');
const validator = () =>
  new Ajv2020({ strict: false, validateFormats: false, allErrors: true }).compile(JSON.parse(committed()) as object);
const yaml = (path: string) => load(readFileSync(path, 'utf8'), { schema: CORE_SCHEMA });

describe('the configuration JSON Schema', () => {
  it('is the committed file, exactly as a fresh generation writes it (run npm run build:schema)', async () => {
    expect(committed()).toBe(await schemaText());
  });

  it('is referenced from config/example.yaml for editors', () => {
    expect(readFileSync('config/example.yaml', 'utf8')).toMatch(
      /^# yaml-language-server: \$schema=\.\/rotator\.schema\.json$/m,
    );
  });

  it.each(['config/example.yaml', 'config/sandbox.yaml'])('accepts %s, ${NAME} references included', (path) => {
    const validate = validator();
    expect(validate(yaml(path)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('flags an unknown key, a wrong type and a malformed Account SID', () => {
    const validate = validator();
    const bad = {
      stores: { file: { path: 's.json' } },
      targets: [
        {
          name: 'app',
          accountSid: 'AC123',
          keyType: 'standard',
          friendlyNamePrefix: 'rot-',
          maxAgeDays: 'thirty',
          secret: { store: 'file', secretId: 'a' },
          admin: { store: 'file', secretId: 'b' },
          colour: 'red',
        },
      ],
    };
    expect(validate(bad)).toBe(false);
    const target = bad.targets[0]!;
    const { colour: _colour, ...fixed } = { ...target, accountSid: `AC${'a'.repeat(32)}`, maxAgeDays: 30 };
    expect(validate({ ...bad, targets: [fixed] }), JSON.stringify(validate.errors)).toBe(true);
    for (const broken of [{ colour: 'red' }, { accountSid: 'AC123' }, { maxAgeDays: 'thirty' }])
      expect(validate({ ...bad, targets: [{ ...fixed, ...broken }] })).toBe(false);
  });
});
