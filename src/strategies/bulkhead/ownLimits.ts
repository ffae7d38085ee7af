/**
 * @internal The {@link AdaptiveLimit}s this copy of the package made. A bulkhead takes only
 * those: it tells a limit how each call went by tickets of this copy's classes, so a limit of
 * another copy (a second version installed beside this one, or code bundled with its own copy)
 * would learn no call and never move. Kept apart from the class so that a bulkhead that is not
 * adaptive does not bring the class into its bundle.
 */
export const ownLimits: WeakSet<object> = /* @__PURE__ */ new WeakSet();
