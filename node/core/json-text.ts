// The JSON text of an immutable JSON value, memoised by the value's identity. States are immutable and
// their JSON forms are memoised (local-store.ts), so a form is serialised once however often it is stored
// or sent: a coordinator stores a new version and sends that same form to the other replicas, and a
// replica answers every read of a state with one form. A value's base64 makes most of a message's bytes,
// and JSON.stringify scans every one of them for characters to escape; the node's profile under PUT load
// had that scan as its largest single native entry.
const texts = new WeakMap<object, string>();

/** JSON.stringify(value), computed once per object. The caller promises never to mutate the object. */
export function jsonText(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}

/**
 * Records `text` as the JSON text of `value`, for a producer that builds a form's text more cheaply than
 * JSON.stringify would (versions.ts joins its siblings' memoised texts). It must be exactly
 * JSON.stringify(value), and the value never mutated.
 */
export function rememberJsonText(value: object, text: string): void {
  texts.set(value, text);
}
