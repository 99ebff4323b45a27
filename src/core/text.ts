/** Small helpers for the words of messages, so every message counts and lists things alike. */

/** `1 certificate`, `3 certificates`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The first `max` items joined with commas, then `, and N more` (long lists of serials in errors). */
export function someOf(items: readonly string[], max = 20): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, and ${items.length - max} more` : shown;
}
