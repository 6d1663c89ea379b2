import { describe, expect, it } from 'vitest';
import { claimTags, formatClaim, parseClaim, TAG_CLAIM, trustedClaim } from '../../src/core/claim.js';
import { TAG_CURRENT_SINCE, TAG_RETIRED } from '../../src/core/labels.js';

const V1 = 'a'.repeat(32);
const V2 = 'b'.repeat(32);
const SID = `SK${'0'.repeat(32)}`;
const claim = { versionId: V2, ref: SID, createdAtMs: Date.parse('2026-01-01T00:00:00Z') };
const quiet = {
  [TAG_CLAIM]: formatClaim(claim),
  [TAG_CURRENT_SINCE]: `${V2} 2026-01-02T00:00:00.000Z`,
  [TAG_RETIRED]: V1,
  owner: 'team-a',
};
const stages = { [V2]: ['AWSCURRENT'], [V1]: ['AWSPREVIOUS'] };

describe('a claim in the listing', () => {
  it('is trusted at the quiet end of a rotation', () => {
    expect(trustedClaim(stages, quiet)).toEqual(claim);
    expect(trustedClaim({ [V2]: ['AWSCURRENT'] }, quiet)).toEqual(claim);
  });

  it.each([
    ['names a version that is not AWSCURRENT', { [V1]: ['AWSCURRENT'], [V2]: ['AWSPREVIOUS'] }, quiet],
    ['sees AWSPENDING on another version', { ...stages, c: ['AWSPENDING'] }, quiet],
    ['sees AWSPENDING left on the current version', { [V2]: ['AWSCURRENT', 'AWSPENDING'] }, quiet],
    ['sees a previous version not retired', stages, { ...quiet, [TAG_RETIRED]: '' }],
    ["sees a person's own label", { ...stages, c: ['MINE'] }, quiet],
    ['has no claim', stages, { ...quiet, [TAG_CLAIM]: '' }],
    ['cannot be parsed', stages, { ...quiet, [TAG_CLAIM]: `${V2} ${SID}` }],
    ['carries a time that is none', stages, { ...quiet, [TAG_CLAIM]: `${V2} ${SID} yesterday` }],
    [
      'sees current-since name another version',
      stages,
      { ...quiet, [TAG_CURRENT_SINCE]: `${V1} 2026-01-02T00:00:00Z` },
    ],
    [
      'says the version was made after it became current (an edited tag putting the rotation off)',
      stages,
      { ...quiet, [TAG_CLAIM]: formatClaim({ ...claim, createdAtMs: Date.parse('2026-06-01T00:00:00Z') }) },
    ],
    ['sees a pause', stages, { ...quiet, 'rotator:paused': `${V1} ${V2}` }],
    ['sees the last error', stages, { ...quiet, 'rotator:last-error': 'boom' }],
    ['sees an open alert', stages, { ...quiet, 'rotator:alert:stuck': 'since=x notified=-' }],
  ])('is not trusted when it %s', (_why, labels, tags) => {
    expect(trustedClaim(labels, tags)).toBeUndefined();
  });

  it('is written only when missing or naming another version or reference', () => {
    expect(claimTags(claim, quiet)).toEqual({});
    expect(claimTags({ ...claim, createdAtMs: claim.createdAtMs + 5 }, quiet)).toEqual({});
    expect(claimTags({ ...claim, versionId: V1 }, quiet)).toEqual({
      [TAG_CLAIM]: formatClaim({ ...claim, versionId: V1 }),
    });
    expect(claimTags({ versionId: V2, createdAtMs: 1 }, {})).toEqual({});
    expect(parseClaim(claimTags(claim, {})[TAG_CLAIM])).toEqual(claim);
    expect(claimTags(claim, {})[TAG_CLAIM]!.length).toBeLessThanOrEqual(256);
  });
});
