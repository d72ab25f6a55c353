// The manifest test: every registered pass imports, is named once, declares its parameters fully and
// rejects unknown ones, and lives in a file named after it (training stages under stages/).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateParams } from './params.js';
import { PASSES, findPass } from './registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const TYPES = new Set(['number', 'integer', 'boolean', 'string', 'enum', 'string[]']);

test('the registry is not empty and pass names are unique kebab-case', () => {
  assert.ok(PASSES.length > 0);
  const names = PASSES.map((p) => p.name);
  assert.equal(new Set(names).size, names.length, `duplicate names in ${names.join(', ')}`);
  for (const n of names) assert.match(n, /^[a-z0-9]+(-[a-z0-9]+)*$/, n);
});

for (const pass of PASSES) {
  test(`manifest: ${pass.name}`, () => {
    assert.equal(findPass(pass.name), pass);
    // training stages live in src/passes/stages/
    const file = pass.role === 'train' ? `stages/${pass.name}.ts` : `${pass.name}.ts`;
    assert.ok(existsSync(join(here, file)), `src/passes/${file} exists`);
    assert.ok(pass.description.length > 10, 'has a description');
    assert.equal(typeof pass.run, 'function');
    assert.ok(['cosine', 'maxAbs', 'relL2'].includes(pass.tolerance.metric) && Number.isFinite(pass.tolerance.value), 'declares a tolerance');
    for (const [key, spec] of Object.entries(pass.params)) {
      const where = `${pass.name}.${key}`;
      assert.ok(TYPES.has(spec.type), `${where}: type ${spec.type}`);
      assert.ok(spec.description && spec.description.length > 5, `${where}: description`);
      assert.ok(spec.default !== undefined, `${where}: default`);
      if (spec.type === 'enum') assert.ok(spec.values?.includes(spec.default as string), `${where}: default is one of its values`);
    }
    // Defaults validate as they are; unknown keys are rejected.
    const defaults = validateParams(pass.name, pass.params, {});
    for (const key of Object.keys(pass.params)) assert.notEqual(defaults[key], undefined, `${pass.name}.${key} default applied`);
    assert.throws(() => validateParams(pass.name, pass.params, { noSuchParameter: 1 }), /unknown parameter 'noSuchParameter'/);
  });
}
