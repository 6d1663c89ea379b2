import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSecretScanningAlert } from '../../src/entry/daemon/leaks-github.js';
import { startGithubEmulator, type GithubEmulator } from './github/index.js';

/** The GitHub emulator's one call, through the daemon's own client for it. */

const TOKEN = 'ghp_emulatortoken0000000000000000000000';
let gh: GithubEmulator;
beforeAll(async () => {
  gh = await startGithubEmulator({ token: TOKEN });
  gh.addAlert('acme/app', { number: 4, secret: 'leaked-value-1', path: 'src/app.ts', line: 12 });
  gh.addAlert('acme/app', { number: 5, secret: 'leaked-value-2', state: 'resolved' });
});
afterAll(() => gh.close());

const api = (token = TOKEN) => ({ apiUrl: gh.url, token, timeoutMs: 2000 });

describe('GitHub secret scanning emulator', () => {
  it('answers an alert with its secret, state, type and first location', async () => {
    expect(await fetchSecretScanningAlert(api(), { owner: 'acme', repo: 'app', number: 4 })).toEqual({
      secret: 'leaked-value-1',
      secretType: 'twilio_api_key',
      state: 'open',
      where: 'https://github.com/acme/app/security/secret-scanning/4 (src/app.ts:12)',
    });
    expect((await fetchSecretScanningAlert(api(), { owner: 'acme', repo: 'app', number: 5 })).state).toBe('resolved');
  });

  it('refuses a wrong token and an unknown alert, and logs no token', async () => {
    await expect(fetchSecretScanningAlert(api('ghp_wrong'), { owner: 'acme', repo: 'app', number: 4 })).rejects.toThrow(
      /HTTP 401 .*needs read access to secret scanning alerts/,
    );
    await expect(fetchSecretScanningAlert(api(), { owner: 'acme', repo: 'app', number: 99 })).rejects.toThrow(
      /HTTP 404/,
    );
    await expect(fetchSecretScanningAlert(api(), { owner: '../x', repo: 'app', number: 1 })).rejects.toThrow(
      /no valid repository/,
    );
    expect(JSON.stringify(gh.controls.log)).not.toContain(TOKEN);
  });

  it('gives up within its timeout on a slow answer', async () => {
    gh.controls.setFaults({ sequence: ['slow'], slowMs: 3000 });
    const slow = { ...api(), timeoutMs: 200 };
    await expect(fetchSecretScanningAlert(slow, { owner: 'acme', repo: 'app', number: 4 })).rejects.toThrow();
    gh.controls.clearFaults();
  });
});
