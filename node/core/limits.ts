// Request size limits, defined once: the core refuses what exceeds them and the HTTP API rejects the same
// sizes before reading a body (413 over maxValueBytes), so both paths give one answer.

/** Longest key, in UTF-8 bytes. */
export const maxKeyBytes = 1024;

/** Largest value of a put, in bytes (1 MiB, NODE-API.md). */
export const maxValueBytes = 1024 * 1024;

/** Why `key` is not a valid key, or undefined when it is. */
export function checkKey(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'key must be a non-empty string';
  if (Buffer.byteLength(key, 'utf8') > maxKeyBytes) return `key longer than ${maxKeyBytes} bytes`;
  return undefined;
}
