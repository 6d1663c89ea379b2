import { describe, expect, it } from 'vitest';
import { configPathFromEnv } from '../../src/config/load.js';

/** One variable names the configuration file; its two old names still work for a release, with a warning. */

function pathFrom(env: NodeJS.ProcessEnv): { path: string | undefined; warnings: string[] } {
  const warnings: string[] = [];
  return { path: configPathFromEnv(env, (w) => warnings.push(w)), warnings };
}

describe('the configuration file named by the environment', () => {
  it('reads TWILIO_KEY_ROTATOR_CONFIG without a warning', () => {
    expect(pathFrom({ TWILIO_KEY_ROTATOR_CONFIG: '/etc/rotator.yaml' })).toEqual({
      path: '/etc/rotator.yaml',
      warnings: [],
    });
  });

  it.each(['ROTATOR_CONFIG', 'ROTATOR_CONFIG_FILE'])('still reads %s, warning that it is deprecated', (old) => {
    const { path, warnings } = pathFrom({ [old]: '/srv/old.yaml' });
    expect(path).toBe('/srv/old.yaml');
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`^${old} is deprecated .*set TWILIO_KEY_ROTATOR_CONFIG`)),
    ]);
  });

  it('prefers TWILIO_KEY_ROTATOR_CONFIG over an old name, and says the old one is ignored', () => {
    const { path, warnings } = pathFrom({ TWILIO_KEY_ROTATOR_CONFIG: '/new.yaml', ROTATOR_CONFIG: '/old.yaml' });
    expect(path).toBe('/new.yaml');
    expect(warnings).toEqual([expect.stringContaining('ROTATOR_CONFIG is ignored: TWILIO_KEY_ROTATOR_CONFIG is set')]);
  });

  it('names nothing when no variable is set or one is empty', () => {
    expect(pathFrom({ TWILIO_KEY_ROTATOR_CONFIG: '' })).toEqual({ path: undefined, warnings: [] });
  });
});
