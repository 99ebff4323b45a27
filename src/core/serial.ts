import { randomBytes } from 'node:crypto';
import { InvalidInputError } from './errors';

/**
 * Draws a new serial: 128 random bits read as a positive integer (DER adds a 0x00
 * sign octet when the top bit is set, so the encoding stays within RFC 5280's 20 octets).
 * Returns the magnitude bytes with leading zero octets removed; never all-zero.
 */
export function newSerial(): Buffer {
  for (;;) {
    const bytes = randomBytes(16);
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const magnitude = bytes.subarray(i);
    if (magnitude.some((b) => b !== 0)) return Buffer.from(magnitude);
  }
}

/** Canonical text form of a serial: uppercase hex, even length, as `openssl x509 -serial` prints it. */
export function serialToHex(serial: Buffer): string {
  return serial.toString('hex').toUpperCase();
}

/**
 * Reads a serial the way operators paste it: `openssl x509 -serial` output
 * (`serial=0A1B…`), any case, with or without colons or spaces.
 * @throws InvalidInputError when the text is not a hex serial.
 */
export function parseSerial(text: string): string {
  const cleaned = String(text)
    .trim()
    .replace(/^serial=/i, '')
    .replace(/[:\s]/g, '');
  if (!/^[0-9a-fA-F]+$/.test(cleaned) || cleaned.length > 42) {
    throw new InvalidInputError(
      `serial "${String(text).slice(0, 60)}" is not a hex serial; give it as \`openssl x509 -serial\` prints it, e.g. 3A:F1:… or 3AF1…`,
    );
  }
  let hex = cleaned.toUpperCase().replace(/^0+/, '');
  if (hex === '') hex = '00';
  return hex.length % 2 ? `0${hex}` : hex;
}

/** Serial bytes from the canonical hex form. */
export function serialFromHex(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}
