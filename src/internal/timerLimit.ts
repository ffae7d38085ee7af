/**
 * Largest delay host timers honour: 2^31 - 1 ms, about 24.8 days. Hosts treat a longer one as
 * 1 ms (Node) or 0, which would end a long wait at once (and turn a huge retry backoff into a hot
 * loop): every timer the package sets is clamped to it. (A module of its own, so an adapter may
 * bundle it.)
 */
export const MAX_TIMER_MS = 2_147_483_647;
