import { WindowTotals } from './totals.js';

/**
 * @internal The last `size` call outcomes, in a ring buffer with running totals, so recording
 * an outcome and reading the totals are O(1) and nothing is allocated after construction.
 */
export class CountWindow extends WindowTotals {
  /** Outcomes the window holds at most. */
  readonly size: number;
  // One byte per outcome: bit 0 = failure, bit 1 = slow.
  readonly #ring: Uint8Array;
  #next = 0;

  constructor(size: number) {
    super();
    this.size = size;
    this.#ring = new Uint8Array(size);
  }

  /**
   * Adds one outcome, pushing the oldest out once the window is full.
   * @param _now - ignored; present so both window kinds are called alike
   */
  record(failure: boolean, slow: boolean, _now?: number): void {
    const ring = this.#ring;
    const at = this.#next;
    const bits = (failure ? 1 : 0) | (slow ? 2 : 0);
    // A full window evicts the oldest outcome, in the slot the new one takes.
    const evicted = this.calls === this.size ? ring[at]! : (this.calls++, 0);
    ring[at] = bits;
    this.failures += (bits & 1) - (evicted & 1);
    this.slowCalls += (bits >> 1) - (evicted >> 1);
    this.#next = at + 1 === this.size ? 0 : at + 1;
  }

  /** A count window has nothing that expires with time. */
  expire(_now?: number): void {}

  /** The outcomes held, oldest first, each as bit 0 = failure, bit 1 = slow. */
  outcomes(): number[] {
    const list: number[] = [];
    const size = this.size;
    const first = this.calls === size ? this.#next : 0;
    for (let i = 0; i < this.calls; i++) list.push(this.#ring[(first + i) % size]!);
    return list;
  }

  /** Forgets every outcome. */
  clear(): void {
    this.#ring.fill(0);
    this.#next = this.calls = this.failures = this.slowCalls = 0;
  }
}
