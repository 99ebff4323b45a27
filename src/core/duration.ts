import { InvalidInputError } from './errors';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/**
 * Parses a duration like `398d`, `10y`, `12h`, `90m`, `30s` into seconds.
 * Written by hand because certctl needs exact calendar-free semantics (1y = 365d,
 * the way openssl's -days and Vault's TTLs count) and errors that name the field.
 * @throws InvalidInputError naming `what` when the text is not a positive duration.
 */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+)\s*([smhdwy])\s*$/i.exec(String(text));
  if (!m) {
    throw new InvalidInputError(`${what}: "${text}" is not a duration; write a number and a unit, e.g. 365d, 10y, 12h`);
  }
  const value = Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()];
  if (value <= 0) throw new InvalidInputError(`${what}: duration must be greater than zero`);
  if (value > 100 * UNIT_SECONDS.y) throw new InvalidInputError(`${what}: "${text}" is longer than 100 years; no certificate should live that long`);
  return value;
}

/** Formats seconds as the largest whole unit (for messages): 34387200 → "398d". */
export function formatDuration(seconds: number): string {
  for (const unit of ['y', 'd', 'h', 'm'] as const) {
    if (seconds % UNIT_SECONDS[unit] === 0) return `${seconds / UNIT_SECONDS[unit]}${unit}`;
  }
  return `${seconds}s`;
}
