/**
 * The rule for a CA name (and for Barbican's name_prefix, which heads the same object names).
 * One rule for every place that takes one, because a CA name becomes a directory of the file
 * store, part of Barbican object names and of Vault KV paths and issuer names: it keeps to
 * characters all of them accept, and cannot climb out of a directory ("..", "/").
 */
export const CA_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** {@link CA_NAME_PATTERN} in words, for messages that say what was expected. */
export const CA_NAME_RULE = 'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters';
