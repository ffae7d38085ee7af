// Counts live timers by wrapping the global timer functions. Node's own resource list leaves out
// unref'd timers, and an idle policy holding one would still cost CPU at every tick.

export function countTimers(): { live(): number } {
  const live = new Set<unknown>();
  const g = globalThis as unknown as Record<string, (...args: unknown[]) => unknown>;
  const { setTimeout: st, setInterval: si, clearTimeout: ct, clearInterval: ci } = g;

  g['setTimeout'] = (fn: unknown, ...rest: unknown[]) => {
    const handle = st!(
      (...args: unknown[]) => {
        live.delete(handle);
        (fn as (...a: unknown[]) => void)(...args);
      },
      ...rest,
    );
    live.add(handle);
    return handle;
  };
  g['setInterval'] = (...args: unknown[]) => {
    const handle = si!(...args);
    live.add(handle);
    return handle;
  };
  g['clearTimeout'] = (handle: unknown) => {
    live.delete(handle);
    return ct!(handle);
  };
  g['clearInterval'] = (handle: unknown) => {
    live.delete(handle);
    return ci!(handle);
  };
  return { live: () => live.size };
}
