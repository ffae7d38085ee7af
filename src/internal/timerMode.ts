/**
 * Whether every pending wait arms a host timer of its own, from its own call: true in a runtime
 * whose timers belong to the request that set them, Cloudflare Workers (`workerd`, Miniflare,
 * Wrangler's dev server), recognised by its `navigator.userAgent`, read once at load.
 *
 * There a timer is cancelled once the response of the request that set it is done, and a request
 * that waits only on something another request must settle, with no timer or I/O of its own, is
 * cancelled as hung. So the one timer a structure shares elsewhere (a timeout's deadlines, a
 * hedge's delays, a queue's first due time, a breaker's recheck) would die with whichever request
 * armed it, and the others' waits with it. With this set, each pending deadline, hedge delay,
 * queued caller and half-open wait arms a timer of its own instead, in its own call, and clears it
 * in its own call: each request keeps itself alive and expires by itself. Elsewhere the shared
 * timers stay as they are; the choice is made when a structure is built, never per call.
 */
export let ownTimers: boolean = /* @__PURE__ */ requestTimers();

function requestTimers(): boolean {
  const host = globalThis as { navigator?: { userAgent?: unknown } };
  try {
    return host.navigator?.userAgent === 'Cloudflare-Workers';
  } catch {
    return false;
  }
}

/**
 * @internal Sets {@link ownTimers} for the structures built from now on: the specs run both ways
 * on one host. Returns the previous setting.
 */
export function setOwnTimers(on: boolean): boolean {
  const was = ownTimers;
  ownTimers = on;
  return was;
}
