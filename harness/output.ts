// Terminal colour, in one place: the only module that imports chalk. Colours are dropped when stdout is not
// a terminal or NO_COLOR is set, so piped output and CI logs stay plain text.
import chalk, { Chalk } from 'chalk';

const colourEnabled = (): boolean => process.stdout.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');

let painter = colourEnabled() ? chalk : new Chalk({ level: 0 });

/** Forces colour on or off (tests and --no-color). */
export function setColour(enabled: boolean): void {
  painter = enabled ? new Chalk({ level: chalk.level > 0 ? chalk.level : 1 }) : new Chalk({ level: 0 });
}

export const paint = {
  ok: (s: string): string => painter.green(s),
  bad: (s: string): string => painter.red.bold(s),
  warn: (s: string): string => painter.yellow(s),
  dim: (s: string): string => painter.dim(s),
  bold: (s: string): string => painter.bold(s),
};

/** A validity rendered the same way everywhere: VALID, INVALID, UNKNOWN. */
export function paintValidity(valid: true | false | 'unknown'): string {
  return valid === true ? paint.ok('VALID') : valid === false ? paint.bad('INVALID') : paint.warn('UNKNOWN');
}
