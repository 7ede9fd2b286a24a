// Types of bin/precompile.js (plain JavaScript, since bin/quorumlab.js runs it before any TypeScript loader).

export interface PrecompileOptions {
  /** The project root (default: bin/'s parent folder). */
  readonly root?: string;
  /** Where mirrors go (default: <root>/.build). */
  readonly cacheDir?: string;
  /** Told why a mirror could not be built or used. */
  readonly onError?: (line: string) => void;
  /** How recent a source change makes the stat signature not worth remembering, in ms (default 3000). */
  readonly racyMs?: number;
}

/** The key of the current sources and the files it covers; undefined without esbuild. */
export function sourceKey(root?: string): { key: string; files: string[] } | undefined;

/** The folder of the current sources' compiled mirror, built if missing; undefined if it cannot be. */
export function precompiledDir(options?: PrecompileOptions): Promise<string | undefined>;

/** The file URL of the compiled copy of a .ts source (relative to the root), or undefined. */
export function precompiledEntry(source: string, options?: PrecompileOptions): Promise<string | undefined>;
