// The configurations the scenarios compare: the service without a policy, then each library's.
export type Library = 'none' | 'bulwark' | 'cockatiel' | 'opossum';
export const LIBRARIES: readonly Library[] = ['none', 'bulwark', 'cockatiel', 'opossum'];
