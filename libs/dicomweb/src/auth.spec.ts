import { describe, expect, it } from 'vitest';
import { authFromConfig, basicAuth, bearerToken, noAuth } from './auth.js';

describe('auth providers', () => {
  it('noAuth adds nothing', async () => {
    expect(await noAuth().headers()).toEqual({});
  });

  it('basicAuth encodes user:password as UTF-8 base64', async () => {
    expect(await basicAuth('triage', 'pässword').headers()).toEqual({
      Authorization: `Basic ${Buffer.from('triage:pässword', 'utf8').toString('base64')}`,
    });
    expect(() => basicAuth('a:b', 'x')).toThrow(/cannot contain ":"/);
    expect(() => basicAuth('a', 'x\ny')).toThrow(/control characters/);
  });

  it('bearerToken refuses tokens that do not fit in a header, without quoting them', async () => {
    expect(() => bearerToken('abc def')).toThrow(TypeError);
    expect(() => bearerToken('')).toThrow(TypeError);
    const fromSource = bearerToken(() => 'secret\r\nX: y');
    await expect(fromSource.headers()).rejects.toThrow(/not allowed in a header/);
    await expect(fromSource.headers()).rejects.not.toThrow(/secret/);
  });

  it('a static token has nothing to refresh', () => {
    expect('refresh' in bearerToken('abc')).toBe(false);
  });

  it('shares one token fetch between concurrent requests', async () => {
    let calls = 0;
    const auth = bearerToken(async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return 'shared';
    });
    const headers = await Promise.all([auth.headers(), auth.headers(), auth.headers()]);
    expect(headers.every((h) => h['Authorization'] === 'Bearer shared')).toBe(true);
    expect(calls).toBe(1);
  });

  it('authFromConfig maps each DICOMWEB_AUTH kind', async () => {
    expect(await authFromConfig({ kind: 'none' }).headers()).toEqual({});
    expect(await authFromConfig({ kind: 'basic', username: 'u', password: 'p' }).headers()).toEqual({
      Authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
    });
    expect(await authFromConfig({ kind: 'bearer', token: 't0k' }).headers()).toEqual({ Authorization: 'Bearer t0k' });
  });

  it('refetches a token when it is about to expire', async () => {
    let clock = 1_000_000;
    let issued = 0;
    const auth = bearerToken(() => ({ token: `t${++issued}`, expiresAt: clock + 60_000 }), { now: () => clock });
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock += 20_000;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock += 15_000; // within the 30 s margin
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t2' });
  });
});
