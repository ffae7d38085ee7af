// How the stores name their Redis keys. Every key of one primitive carries the same Redis Cluster
// hash tag (the text between the first `{` and the next `}`), so a script that touches several of
// them runs on one node, and the tag is never empty (an empty tag hashes the whole name).
import { sha1Hex } from './adapter.js';

/** @internal The kinds of state the stores keep, as they appear in key names. */
export type StoreKind = 'rl' | 'cb' | 'bh' | 'rb';

// `%`, the braces that delimit a hash tag, `#` (which starts a hashed name), and lone surrogates
// (which UTF-8 cannot carry: two different ones would reach Redis as the same bytes).
const SPECIAL = /[%{}#]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x80
    ? `%${code.toString(16).toUpperCase().padStart(2, '0')}`
    : `%u${code.toString(16).toUpperCase()}`;
}

/**
 * @internal `text` with `%`, `{`, `}`, `#` and lone surrogates percent-escaped (`%7B`, `%uD800`,
 * ...): safe inside or beside a hash tag, and different texts stay different.
 */
export function escapeKeyPart(text: string): string {
  return text.replace(SPECIAL, escapeChar);
}

/** Longest escaped per-key name kept as it is; a longer one is hashed. */
const MAX_MEMBER_LENGTH = 100;

/**
 * @internal How a per-key view's key (`''` too: `forKey` takes any string) appears in Redis (its
 * hash tag): escaped as {@link escapeKeyPart}; `#` and the SHA1 of the escaped text when that is
 * longer than {@link MAX_MEMBER_LENGTH} characters. Different keys never share a name (short of
 * a SHA1 collision), since an escaped text never starts with `#`.
 */
export function encodeMember(key: string): string {
  const escaped = escapeKeyPart(key);
  // '' has a name of its own: a lone '%' is no escape of any other key.
  if (escaped === '') return '%';
  return escaped.length > MAX_MEMBER_LENGTH ? `#${sha1Hex(escaped)}` : escaped;
}

/**
 * @internal The main Redis key of a store: `<prefix><kind>:{<key>}` for a store, and
 * `<prefix><kind>:<key>:{<member>}` for its per-key view of `member` (`key` escaped, `member`
 * encoded as {@link encodeMember}). A view's keys are tagged by the per-key name alone, so the
 * keys of many users spread over a cluster's nodes, while the state of one user (its limiter,
 * breaker and bulkhead, whatever their store keys) shares one slot.
 */
export function storeKeyName(
  prefix: string,
  kind: StoreKind,
  key: string,
  member: string | undefined,
): string {
  const base = escapeKeyPart(key);
  return member === undefined
    ? `${prefix}${kind}:{${base}}`
    : `${prefix}${kind}:${base}:{${encodeMember(member)}}`;
}
