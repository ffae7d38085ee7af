// Entry point of the runtime exercise in a browser page: the outcome is left on
// `globalThis.runtimeExercise` for the driver to read.
import { exercise } from './exercise.mjs';

const lines = [];
exercise((line) => {
  lines.push(line);
  console.log(line);
}).then(
  ({ failed }) => (globalThis.runtimeExercise = { failed, lines }),
  (error) => (globalThis.runtimeExercise = { failed: ['exercise'], lines: [String(error)] }),
);
