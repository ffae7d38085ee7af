// One time base for the runner and the services it starts: epoch milliseconds with sub-ms
// precision, comparable across processes on one machine.
export const now = (): number => performance.timeOrigin + performance.now();
