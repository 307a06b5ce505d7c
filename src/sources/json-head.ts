import { parseObject } from './values.js';

/**
 * The JSON object on a head line (format detection), even when the head window ends inside it.
 *
 * Formats are found from a file's first 64 KiB. A JSON log whose first line is longer (a
 * certificate of 900k SANs, a 15 MB serial, an eve.json event with a large chain) left only a
 * cut line there, which no detector could parse, so the whole file was "format not recognised":
 * one certificate an attacker serves could hide every sighting logged after it. The keys that
 * name a format (Zeek's `certificate.serial`, eve's `event_type`) come early in a line, so the
 * cut line is made whole again: an open string value closed, a cut key or number dropped, open
 * arrays and objects closed. The line itself is read in full, or refused by the line cap, later.
 */
export function headObject(text: string): Record<string, unknown> | null {
  const whole = parseObject(text);
  if (typeof whole !== 'string') return whole;
  for (const candidate of closings(text)) {
    const o = parseObject(candidate);
    if (typeof o !== 'string') return o;
  }
  return null;
}

/**
 * The object that names a JSON-lines file's format: its first line that is a whole JSON object,
 * else its first line made whole (headObject: a long first line the head window cut). A broken
 * first line (a sensor that died mid-write, a corrupt block) would otherwise name the file by its
 * few readable keys, or by none, and hide every good line after it.
 */
export function jsonHeadObject(lines: readonly string[]): Record<string, unknown> | null {
  let first: string | undefined;
  for (const line of lines) {
    if (!line.trimStart().startsWith('{')) continue;
    const whole = parseObject(line);
    if (typeof whole !== 'string') return whole;
    first ??= line;
  }
  return first === undefined ? null : headObject(first);
}

/** Ways to close a cut JSON text, the ones keeping most first. */
function closings(text: string): string[] {
  const closers: string[] = [];
  let inString = false;
  let stringIsKey = false;
  let stringStart = -1;
  let escapeStart = -1;
  let expectKey = false;
  // The last `,` outside strings: everything before it is whole values.
  let comma = -1;
  let commaClosers = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        escapeStart = i;
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      stringStart = i;
      stringIsKey = expectKey;
    } else if (c === '{') {
      closers.push('}');
      expectKey = true;
    } else if (c === '[') {
      closers.push(']');
      expectKey = false;
    } else if (c === '}' || c === ']') {
      closers.pop();
      expectKey = false;
    } else if (c === ':') expectKey = false;
    else if (c === ',') {
      expectKey = closers[closers.length - 1] === '}';
      comma = i;
      commaClosers = closers.slice().reverse().join('');
    }
  }
  const out: string[] = [];
  const closing = closers.slice().reverse().join('');
  if (inString && !stringIsKey) {
    // A cut escape (`\`, `\u12`) would make the closed string invalid: drop it.
    let end = text.length;
    if (escapeStart >= 0 && escapeStart > stringStart && text.length - escapeStart < 6) end = escapeStart;
    out.push(text.slice(0, end) + '"' + closing);
  }
  // Cut after a whole number or literal, or between values.
  if (!inString) out.push(text + closing);
  if (comma >= 0) out.push(text.slice(0, comma) + commaClosers);
  return out;
}
