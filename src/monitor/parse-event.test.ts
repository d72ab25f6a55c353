import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineId, parseEvent, parseTs } from './parse-event.js';
import { splitCsv } from './read-records.js';

const b = new Uint8Array([1, 2, 3]);

test('ts is ISO-8601 (zone-less taken as UTC) or epoch milliseconds; epoch seconds are refused', () => {
  assert.equal(parseTs('2026-03-01T14:02:00Z', false), Date.UTC(2026, 2, 1, 14, 2));
  assert.equal(parseTs('2026-03-01 14:02:00', false), Date.UTC(2026, 2, 1, 14, 2));
  assert.equal(parseTs('2026-03-01T16:02:00+02:00', false), Date.UTC(2026, 2, 1, 14, 2));
  assert.equal(parseTs(1772373720000, false), 1772373720000);
  assert.equal(parseTs('1772373720000', true), 1772373720000);
  assert.match(String(parseTs('1772373720000', false)), /ISO-8601/);
  assert.match(String(parseTs(1772373720, false)), /epoch seconds/);
  assert.match(String(parseTs('yesterday', false)), /not ISO-8601/);
});

test('defect accepts true/false and 1/0, in JSON and as CSV text', () => {
  for (const [v, want] of [
    [true, true],
    [0, false],
    ['1', true],
    ['false', false],
  ] as const)
    assert.equal(parseEvent({ ts: 1772373720000, defect: v }, b, 1, true).defect, want);
  assert.throws(() => parseEvent({ ts: 1772373720000, defect: 'yes' }, b, 1, false), /'defect' must be true\/false or 1\/0/);
});

test('bad records say what is wrong', () => {
  assert.throws(() => parseEvent({ machine: 'M1' }, b, 1, false), /missing 'ts'/);
  assert.throws(() => parseEvent({ ts: 1772373720000, score: 'high' }, b, 1, false), /'score' must be a number/);
  assert.throws(() => parseEvent({ ts: 1772373720000, score: 1.5 }, b, 1, false), /between 0 and 1/);
  assert.throws(() => parseEvent({ ts: 1772373720000, machine: { type: 'press' } }, b, 1, false), /'machine' must be a string/);
  assert.throws(() => parseEvent({ ts: 1772373720000, colour: 'red' }, b, 1, false), /unknown field 'colour'/);
  assert.throws(() => parseEvent({ ts: 1772373720000, embedding: [1, 'x'] }, b, 1, false), /list of numbers/);
});

test('an event without an id gets one from its bytes and line number', () => {
  const e = parseEvent({ ts: 1772373720000, part_id: 'P1', latency_ms: 3 }, b, 7, false);
  assert.equal(e.id, lineId(b, 7));
  assert.notEqual(lineId(b, 7), lineId(b, 8));
  assert.notEqual(lineId(b, 7), lineId(new Uint8Array([1, 2, 4]), 7));
  assert.equal(e.partId, 'P1');
  assert.equal(e.latencyMs, 3);
  assert.equal(parseEvent({ id: 'abc', ts: 1772373720000 }, b, 7, false).id, 'abc');
});

test('CSV cells: quotes, doubled quotes and commas inside quotes', () => {
  assert.deepEqual(splitCsv('a,"b,c","d""e",'), ['a', 'b,c', 'd"e', '']);
  assert.equal(typeof splitCsv('a,"b'), 'string');
});
