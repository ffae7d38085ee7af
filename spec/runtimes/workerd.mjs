// The workerd run of the runtime matrix: the worker of worker.mjs, bundled from the packed
// package as an application bundles it, served by workerd (Cloudflare Workers' runtime), and
// called here with overlapping requests, each timed so that it still waits once the one before
// it has answered (whose timers workerd then cancels). Real time, short durations; asserted
// only what a busy machine cannot change. Prints a line per failure and the summary the matrix
// reads (`runtime exercise: N checks passed`).

/** The workerd configuration: the worker at `worker.js`, served on 127.0.0.1:`port`. */
export function workerdConfig(port) {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-01-01",
  bindings = [ (name = "SELF", service = "main") ],
);
`;
}

/** Calls the worker at `base` through every check; returns `{ passed, failed }`. */
export async function driveWorker(base, log) {
  /** The text the worker answers for `path`, asked after `delay` ms; its status when not 200. */
  const ask = async (path, delay = 0) => {
    await new Promise((resolve) => setTimeout(resolve, delay));
    const response = await fetch(`${base}${path}`);
    const text = await response.text();
    return response.status === 200 ? text : `${response.status} ${text.slice(0, 200)}`;
  };
  const checks = [
    [
      // The compatibility date is earlier than WeakRef's on Workers: resilientFetch does without.
      'the host is Cloudflare Workers, without WeakRef',
      async () => [await ask('/host')],
      ['Cloudflare-Workers, WeakRef undefined'],
    ],
    [
      'a timeout fires for a request still waiting after the one before it answered',
      () => Promise.all([ask('/timeout?ms=150'), ask('/timeout', 20)]),
      ['done', 'OperationTimeoutError'],
    ],
    [
      'a hedge starts for a request still waiting after the one before it answered',
      () => Promise.all([ask('/hedge?ms=60'), ask('/hedge', 20)]),
      ['first', 'hedge'],
    ],
    [
      'a bulkhead serves each queued request in turn',
      () =>
        Promise.all([
          ask('/bulkhead?ms=300'),
          ask('/bulkhead?ms=100', 50),
          ask('/bulkhead?ms=100', 100),
        ]),
      ['served', 'served', 'served'],
    ],
    [
      'a registry is made and reloaded without WeakRef',
      async () => [await ask('/registry')],
      ['configured'],
    ],
    [
      'a bodyTimeout bounds the reading of a stalled body',
      async () => [await ask('/body?ms=100')],
      ['OperationTimeoutError'],
    ],
  ];
  let passed = 0;
  const failed = [];
  for (const [name, run, expected] of checks) {
    let got;
    try {
      got = await run();
    } catch (error) {
      got = [String(error)];
    }
    if (JSON.stringify(got) === JSON.stringify(expected)) passed += 1;
    else {
      failed.push(name);
      log(`FAILED: ${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    }
  }
  log(
    failed.length === 0
      ? `runtime exercise: ${passed} checks passed`
      : `runtime exercise: ${failed.length} of ${checks.length} checks FAILED`,
  );
  return { passed, failed };
}
