// Addresses as the QL_* variables give them: "host:port", IPv6 hosts in brackets.

/** Splits "host:port" (IPv6 hosts in brackets) into its parts; throws on anything else. Port 0 (any free
 * port) is accepted only where a listener asks for it. */
export function parseHostPort(addr: string, allowZeroPort = false): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(addr.trim());
  if (!m) throw new RangeError(`"${addr}" is not host:port`);
  const port = Number(m[2]);
  if (port < (allowZeroPort ? 0 : 1) || port > 65535) throw new RangeError(`port ${port} in "${addr}" is out of range`);
  return { host: m[1]!, port };
}
