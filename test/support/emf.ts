import { expect } from 'vitest';

/**
 * Checks a log line against the CloudWatch embedded metric format specification (the document
 * structure and its JSON schema): what CloudWatch Logs needs to extract metrics from it.
 */
const SIZES = ['Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits'];
const SIZE_UNITS = [...SIZES, 'Gigabits', 'Terabits'];
const UNIT_NAMES = ['Seconds', 'Microseconds', 'Milliseconds', ...SIZE_UNITS, 'Percent', 'Count'];
const RATES = [...SIZE_UNITS, 'Count'].map((u) => `${u}/Second`);
const UNITS = new RegExp(`^(${[...UNIT_NAMES, ...RATES, 'None'].join('|')})$`);

export function expectEmf(line: string): Record<string, any> {
  const doc = JSON.parse(line) as Record<string, any>;
  expect(typeof doc).toBe('object');
  const meta = doc._aws;
  expect(Number.isInteger(meta.Timestamp)).toBe(true);
  expect(Array.isArray(meta.CloudWatchMetrics)).toBe(true);
  for (const directive of meta.CloudWatchMetrics) {
    expect(directive.Namespace).toMatch(/^.{1,1024}$/);
    expect(directive.Dimensions.length).toBeGreaterThanOrEqual(1);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const key of set) {
        expect(typeof doc[key], `dimension ${key} is a string member of the root`).toBe('string');
        expect(doc[key].length).toBeLessThanOrEqual(1024);
      }
    }
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const m of directive.Metrics) {
      expect(typeof doc[m.Name], `metric ${m.Name} is a number on the root`).toBe('number');
      if (m.Unit !== undefined) expect(m.Unit).toMatch(UNITS);
    }
  }
  return doc;
}

/** The EMF documents among log lines. */
export const emfLines = (text: string): Record<string, any>[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{"_aws"'))
    .map(expectEmf);
