import { TimeWindow } from './TimeWindow.js';

/**
 * @internal The last `size` call outcomes: a {@link TimeWindow} whose clock is the number of
 * outcomes recorded, so each bucket holds one outcome. Recording an outcome and reading the
 * totals are O(1) and nothing is allocated after construction.
 */
export class CountWindow extends TimeWindow {
  #seq = 0;

  constructor(size: number) {
    super(size, size, true);
  }

  /**
   * Adds one outcome, pushing the oldest out once the window is full.
   * @param _now - ignored; present so both window kinds are called alike
   */
  override record(failure: boolean, slow: boolean, _now?: number): void {
    super.record(failure, slow, this.#seq++);
  }

  /** A count window has nothing that expires with time. */
  override expire(_now?: number): void {}
}
