// Loaded (with --require, after setup.js) to run the specs of the structures that wait in the
// mode of a runtime whose timers belong to a request (Cloudflare Workers): every pending wait arms
// a timer of its own. See `npm run spec:own-timers`.
import { setOwnTimers } from '../src/internal/timerMode.js';

setOwnTimers(true);
