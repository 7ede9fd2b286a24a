// Local-process runs of the conflict, hint, cart and context defects (lww-in-vclock on the register and on
// the client-merged cart, drop-hints and remove-unobserved on the cart, context-overcovers on register RMWs).
import { localBugSuite } from './helpers/bugs-local-suite.js';

localBugSuite((f) => ['lww-in-vclock', 'drop-hints', 'remove-unobserved', 'context-overcovers'].includes(f.fault), 40);
