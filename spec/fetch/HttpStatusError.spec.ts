import { expect } from 'chai';
import {
  HttpStatusError,
  MAX_RETRY_AFTER_MS,
  isHttpStatusError,
  parseRetryAfter,
} from '../../src/fetch/index.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('2', NOW)).to.equal(2000);
    expect(parseRetryAfter(' 120 ', NOW)).to.equal(120_000);
    expect(parseRetryAfter('0', NOW)).to.equal(0);
  });

  it('reads an HTTP-date as the time left until it, in every form RFC 9110 accepts', () => {
    expect(parseRetryAfter('Sun, 06 Dec 2026 12:00:30 GMT', NOW)).to.equal(30_000);
    expect(parseRetryAfter('Sunday, 06-Dec-26 12:00:05 GMT', NOW)).to.equal(5_000);
    expect(parseRetryAfter('Sun Dec  6 12:01:00 2026', NOW)).to.equal(60_000);
  });

  it('reads every HTTP-date in GMT, whatever the local time zone', () => {
    // Node reads TZ again when it is set: dates then parse in New York's zone (UTC-5 in
    // December), where a date without `GMT` read as local time would be 5 hours off.
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(new Date(NOW).getHours(), 'the zone applies').to.equal(7);
      expect(parseRetryAfter('Sun Dec  6 12:01:00 2026', NOW)).to.equal(60_000);
      expect(parseRetryAfter('Sun Dec  6 11:59:00 2026', NOW)).to.equal(0);
      expect(parseRetryAfter('Sun Dec  6 12:00:07 2026', NOW - 3_000)).to.equal(10_000);
      expect(parseRetryAfter('Sun, 06 Dec 2026 12:00:30 GMT', NOW)).to.equal(30_000);
      expect(parseRetryAfter('Sunday, 06-Dec-26 12:00:05 GMT', NOW)).to.equal(5_000);
      // Two-digit days and the first and last months.
      const jan = Date.UTC(2027, 0, 31, 23, 59, 0);
      expect(parseRetryAfter('Sun Jan 31 23:59:30 2027', jan)).to.equal(30_000);
      const dec = Date.UTC(2026, 11, 31, 0, 0, 0);
      expect(parseRetryAfter('Thu Dec 31 00:00:02 2026', dec)).to.equal(2_000);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('reads a date in the past as 0', () => {
    expect(parseRetryAfter('Sun, 06 Dec 2026 11:00:00 GMT', NOW)).to.equal(0);
  });

  it('reads absent, empty, negative, fractional and garbage values as undefined', () => {
    for (const value of [null, undefined, '', '  ', '-5', '1.5', '5s', 'soon', '0x10', '1e3']) {
      expect(parseRetryAfter(value, NOW), String(value)).to.equal(undefined);
    }
  });

  it('reads text that only looks like a date as undefined, not as a far or local date', () => {
    for (const value of [
      'x 2099',
      'May 2030',
      'June 1, 2027',
      'Retry 10',
      'Dec 25',
      '2026-12-06T12:00:30Z',
      'Sun, 06 Dec 2026 12:00:30',
      'Sun, 06 Dec 2026 12:00:30 PST',
      'Sun, 06 Dec 2026 12:00:30 +0100',
      'Sun, 31 Feb 2027 00:00:00 GMT',
      'Sun, 06 Dec 2026 25:00:30 GMT',
      'Sunday, 06-Dec-2026 12:00:30 GMT',
      'Sun Dec  6 12:01:00 2026 GMT',
    ]) {
      expect(parseRetryAfter(value, NOW), value).to.equal(undefined);
    }
  });

  it("reads an RFC 850 date's two-digit year as the nearest one not over 50 years ahead", () => {
    // 2076 is 50 years after 2026: ahead; 2077 would be more, so '77' is 1977, long past.
    expect(parseRetryAfter('Sunday, 06-Dec-76 12:00:00 GMT', NOW)).to.equal(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Monday, 06-Dec-77 12:00:00 GMT', NOW)).to.equal(0);
  });

  it('caps a huge delay or a far date at one hour', () => {
    expect(MAX_RETRY_AFTER_MS).to.equal(3_600_000);
    expect(parseRetryAfter('86400', NOW)).to.equal(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('99999999999999999999999', NOW)).to.equal(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW)).to.equal(MAX_RETRY_AFTER_MS);
  });

  it('uses the wall clock when no time is given', () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const ms = parseRetryAfter(at) as number;
    expect(ms).to.be.within(58_000, 60_000);
  });
});

describe('HttpStatusError', () => {
  it('carries the response, its status, Retry-After and a stable code and name', () => {
    const response = new Response('busy', {
      status: 503,
      statusText: 'Service Unavailable',
      headers: { 'retry-after': '3' },
    });
    const error = new HttpStatusError(response);
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal('HttpStatusError');
    expect(error.code).to.equal('HTTP_STATUS');
    expect(error.message).to.equal('HTTP status 503 Service Unavailable');
    expect(error.response).to.equal(response);
    expect(error.status).to.equal(503);
    expect(error.retryAfterMs).to.equal(3000);
    expect(error.retryable).to.equal(true);
    expect(new HttpStatusError(response, { retryable: false }).retryable).to.equal(false);
  });

  it('names the method and the URL in its message, without query, fragment or credentials', () => {
    const response = new Response(null, { status: 503, statusText: 'Service Unavailable' });
    const error = new HttpStatusError(response, {
      method: 'DELETE',
      url: 'https://alice:s3cret@api.example.com/users/42?token=abc#frag',
    });
    expect(error.message).to.equal(
      'HTTP status 503 Service Unavailable (DELETE https://api.example.com/users/42)',
    );
    expect(error.method).to.equal('DELETE');
    expect(error.url).to.equal('https://api.example.com/users/42');
    for (const secret of ['alice', 's3cret', 'token', 'abc', 'frag']) {
      expect(error.message, secret).not.to.include(secret);
      expect(JSON.stringify(error), secret).not.to.include(secret);
    }
  });

  it('redacts a URL that does not parse (a relative one) as well', () => {
    const response = new Response(null, { status: 502 });
    expect(
      new HttpStatusError(response, { method: 'GET', url: '/users?key=k#x' }).message,
    ).to.equal('HTTP status 502 (GET /users)');
    expect(new HttpStatusError(response, { url: '//u:p@host/a?b' }).url).to.equal('//host/a');
  });

  it("falls back to the response's own URL, and to the status alone", () => {
    const withUrl = new Response(null, { status: 500 });
    Object.defineProperty(withUrl, 'url', { value: 'http://h.example/p?q=1' });
    expect(new HttpStatusError(withUrl).message).to.equal('HTTP status 500 (http://h.example/p)');
    expect(new HttpStatusError(new Response(null, { status: 500 })).message).to.equal(
      'HTTP status 500',
    );
  });

  it('serialises with toJSON: its fields as data, not the response', () => {
    const response = new Response('busy', {
      status: 429,
      statusText: 'Too Many Requests',
      headers: { 'retry-after': '7' },
    });
    const error = new HttpStatusError(response, {
      method: 'POST',
      url: 'https://api.example.com/orders?sig=x',
      retryable: false,
    });
    expect(JSON.parse(JSON.stringify(error))).to.deep.equal({
      name: 'HttpStatusError',
      code: 'HTTP_STATUS',
      message: 'HTTP status 429 Too Many Requests (POST https://api.example.com/orders)',
      status: 429,
      statusText: 'Too Many Requests',
      method: 'POST',
      url: 'https://api.example.com/orders',
      retryAfterMs: 7000,
      retryable: false,
    });
  });

  it('keeps its response out of its enumerable keys, which loggers such as pino walk', () => {
    const response = new Response(null, { status: 503 });
    const error = new HttpStatusError(response, { method: 'GET', url: 'https://h.example/' });
    expect(error.response).to.equal(response);
    expect(Object.keys(error)).not.to.include('response');
    const walked: Record<string, unknown> = {};
    for (const key in error) walked[key] = (error as unknown as Record<string, unknown>)[key];
    expect(walked).to.include({ status: 503, method: 'GET', url: 'https://h.example/' });
    expect(walked).not.to.have.property('response');
  });

  it('has no retryAfterMs without a valid Retry-After', () => {
    expect(new HttpStatusError(new Response(null, { status: 500 })).retryAfterMs).to.equal(
      undefined,
    );
    const garbage = new Response(null, { status: 429, headers: { 'retry-after': 'later' } });
    expect(new HttpStatusError(garbage).retryAfterMs).to.equal(undefined);
  });

  it('is recognised by isHttpStatusError, also when made by another copy of the package', () => {
    expect(isHttpStatusError(new HttpStatusError(new Response(null, { status: 502 })))).to.equal(
      true,
    );
    const foreign = Object.assign(new Error('x'), { code: 'HTTP_STATUS' });
    Object.defineProperty(foreign, Symbol.for('bulwark.HttpStatusError'), { value: true });
    expect(isHttpStatusError(foreign)).to.equal(true);
    expect(isHttpStatusError(Object.assign(new Error('x'), { code: 'HTTP_STATUS' }))).to.equal(
      false,
    );
    expect(isHttpStatusError(null)).to.equal(false);
    expect(isHttpStatusError('HTTP_STATUS')).to.equal(false);
  });

  it('answers instanceof for one made by another copy, by its brand; a subclass by its chain', () => {
    const foreign = Object.assign(new Error('x'), { code: 'HTTP_STATUS' });
    Object.defineProperty(foreign, Symbol.for('bulwark.HttpStatusError'), { value: true });
    expect(foreign).to.be.instanceOf(HttpStatusError);
    expect(Object.assign(new Error('x'), { code: 'HTTP_STATUS' })).not.to.be.instanceOf(
      HttpStatusError,
    );
    expect(null).not.to.be.instanceOf(HttpStatusError);

    class ServerError extends HttpStatusError {}
    const own = new ServerError(new Response(null, { status: 500 }));
    expect(own).to.be.instanceOf(ServerError);
    expect(own).to.be.instanceOf(HttpStatusError);
    expect(new HttpStatusError(new Response(null, { status: 500 }))).not.to.be.instanceOf(
      ServerError,
    );
    expect(foreign).not.to.be.instanceOf(ServerError);
  });
});
