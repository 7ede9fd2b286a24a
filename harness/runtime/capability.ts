// The one refusal a runtime gives for a fault it cannot apply here: definite, naming the runtime and why.
import type { Capability, RuntimeKind } from './runtime.js';

export function requireCapability(runtime: RuntimeKind, what: string, cap: Capability): void {
  if (cap !== true) throw new Error(`${what} is unavailable on the ${runtime} runtime: ${cap.unavailable} (definite: nothing was done)`);
}
