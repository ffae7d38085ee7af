// Entry point of the runtime exercise for Node, Bun and Deno, and a check of process lifetime in
// each: nothing else holds the process open, so a wait that did not keep it alive ends the run
// early (Node exits with code 13 on the unsettled top-level await), and the exit code is set
// rather than forced, so a timer left behind once every call has settled keeps the process
// alive and trips the runner's time limit. It also checks that `import` and `require` load one
// copy of the package, as they do wherever the `node` condition of its `exports` applies.
import { createRequire } from 'node:module';
import * as imported from 'bulwark';
import { exercise } from './exercise.mjs';

const { Deno, process } = globalThis;
const bun = process?.versions.bun;
const runtime = Deno
  ? `Deno ${Deno.version.deno}`
  : bun
    ? `Bun ${bun}`
    : `Node ${process.versions.node}`;
console.log(`runtime: ${runtime}`);

// Here (the `node` condition) `import` and `require` load one copy of the package.
const required = createRequire(import.meta.url)('bulwark');
const twoCopies = Object.keys(required).filter((name) => required[name] !== imported[name]);
if (twoCopies.length > 0) console.log(`import and require differ on: ${twoCopies.join(', ')}`);

let running;
let finished = false;
process?.on('exit', () => finished || console.log(`ended during the check: ${running}`));
const { failed } = await exercise(
  (line) => console.log(line),
  (name) => (running = name),
);
finished = true;
if (failed.length > 0 || twoCopies.length > 0) {
  if (Deno) Deno.exitCode = 1;
  else process.exitCode = 1;
}
