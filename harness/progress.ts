// A progress line for a running test: ops/s, the fault in force and elapsed/limit. On a terminal it is
// redrawn in place; elsewhere (CI logs, pipes) it prints a plain line every few seconds instead.
// It only displays: the run's clock (runtime.nowNs) is passed in, so virtual time shows as such.

export interface ProgressState {
  readonly elapsedS: number;
  readonly limitS: number;
  readonly phase: string;
  readonly ops: number;
  readonly ok: number;
  readonly fault: string | undefined;
}

export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly tty: boolean;
  /** Minimum seconds (of run time) between plain lines. */
  readonly plainEveryS?: number;
}

export interface Progress {
  update(state: ProgressState): void;
  /** Ends the line on a terminal so later output starts clean. */
  done(): void;
}

/** One line of text for a state; the ops/s figure is over the whole elapsed time. */
export function formatProgress(state: ProgressState): string {
  const rate = state.elapsedS > 0 ? state.ops / state.elapsedS : 0;
  const fault = state.fault ?? 'none';
  // The limit only bounds the workload phase; afterwards (heal, quiesce, final reads) elapsed time stands alone.
  const clock = state.phase === 'workload' ? `${state.elapsedS.toFixed(1)}/${state.limitS}s` : `${state.elapsedS.toFixed(1)}s`;
  return `[${state.phase}] ${clock}  ${rate.toFixed(1)} ops/s  ` +
    `${state.ok}/${state.ops} ok  fault: ${fault}`;
}

export function createProgress(options: ProgressOptions): Progress {
  const every = options.plainEveryS ?? 5;
  let lastPlainS = -Infinity;
  let drawn = false;
  let lastDrawS = -Infinity;
  let lastPhase = '';
  return {
    update(state) {
      const line = formatProgress(state);
      if (options.tty) {
        // Redraw at most five times a second (and on every phase change): the run calls this per op.
        if (state.elapsedS - lastDrawS < 0.2 && state.phase === lastPhase) return;
        lastDrawS = state.elapsedS;
        lastPhase = state.phase;
        options.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (state.elapsedS - lastPlainS >= every) {
        lastPlainS = state.elapsedS;
        options.write(`${line}\n`);
      }
    },
    done() {
      if (drawn) options.write('\n');
      drawn = false;
    },
  };
}

/** A progress that shows nothing (quiet runs and tests). */
export const silentProgress: Progress = { update() {}, done() {} };
