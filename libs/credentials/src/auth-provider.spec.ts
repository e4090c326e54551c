import { describe, expect, it } from 'vitest';
import { basicAuth, bearerToken, noAuth, tokenCache } from './auth-provider.js';

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
    expect(headers.every((h: Record<string, string>) => h['Authorization'] === 'Bearer shared')).toBe(true);
    expect(calls).toBe(1);
  });

  it('refetches a token when it is about to expire', async () => {
    let clock = 1_000_000;
    let issued = 0;
    const auth = bearerToken(() => ({ token: `t${++issued}`, expiresAt: clock + 3_600_000 }), { now: () => clock });
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock += 3_560_000;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock += 15_000; // within the 30 s margin
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t2' });
  });

  it('renews a short-lived token a fifth of its lifetime before it expires', async () => {
    let clock = 0;
    let issued = 0;
    const auth = bearerToken(() => ({ token: `t${++issued}`, expiresAt: clock + 20_000 }), { now: () => clock });
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock = 15_999;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock = 16_000; // 20 s lifetime: renewed 4 s early, not 30 s early (which would mean always)
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t2' });
  });

  it('a secret that changes is sent as it is now, and a 401 is worth a repeat only once it changed', async () => {
    let current = 'first';
    const bearer = bearerToken({ secret: () => current });
    const basic = basicAuth('triage', () => current);
    expect(await bearer.headers()).toEqual({ Authorization: 'Bearer first' });
    expect(await basic.headers()).toEqual({ Authorization: `Basic ${Buffer.from('triage:first').toString('base64')}` });
    expect(await bearer.refresh!()).toBe(false);
    current = 'second';
    expect(await bearer.refresh!()).toBe(true);
    expect(await basic.refresh!()).toBe(true);
    expect(await bearer.headers()).toEqual({ Authorization: 'Bearer second' });
  });

  it('tokenCache gives the bare token (Kafka OAUTHBEARER), cached and renewed like bearerToken', async () => {
    let now = 0;
    let fetched = 0;
    const cache = tokenCache(() => ({ token: `t${++fetched}`, expiresAt: now + 20_000 }), { now: () => now });
    expect(await Promise.all([cache.token(), cache.token()])).toEqual(['t1', 't1']);
    now = 15_999;
    expect(await cache.token()).toBe('t1');
    now = 16_000; // a fifth of 20 s early
    expect(await cache.token()).toBe('t2');
    expect(await cache.refresh()).toBe(true);
    expect(await cache.token()).toBe('t3');
    await expect(tokenCache(() => 'has space').token()).rejects.toThrow(TypeError);
  });
});
