// Escaping for text put into the report's HTML and inline scripts.

/** JSON safe inside a <script> element (no "</script>" or "<!--" can appear). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const needsEscape = /[&<>"]/;

export function escapeHtml(text: string): string {
  // Most texts (contexts, node ids, numbers) have nothing to escape: one scan instead of four replaces.
  if (!needsEscape.test(text)) return text;
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
