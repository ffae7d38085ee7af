/**
 * Does nothing: the handler of a promise whose rejection nobody waits for (a discarded body's
 * cancel, an unwatched pipe), and the release of what holds nothing.
 */
export function ignore(): void {}
