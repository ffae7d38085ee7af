// Entry point of the runtime exercise for Node, Bun and Deno. It sets the exit code instead of
// exiting, so a timer left behind by the library would keep the process alive and be caught by
// the runner's time limit. While the exercise runs, a timer of its own holds the process open:
// the exercise checks behaviour in each runtime, and how long a process lives while a call waits
// has specs of its own.
import { exercise } from './exercise.mjs';

const { Deno, process } = globalThis;
const bun = process?.versions.bun;
const runtime = Deno
  ? `Deno ${Deno.version.deno}`
  : bun
    ? `Bun ${bun}`
    : `Node ${process.versions.node}`;
console.log(`runtime: ${runtime}`);

const hold = setInterval(() => {}, 1000);
const { failed } = await exercise((line) => console.log(line));
clearInterval(hold);
if (failed.length > 0) {
  if (Deno) Deno.exitCode = 1;
  else process.exitCode = 1;
}
