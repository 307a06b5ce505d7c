/**
 * Everything printed may come from a certificate or a log an attacker wrote. Terminal control
 * sequences (C0, DEL, C1) and the Unicode controls that reorder or hide text (bidi overrides,
 * zero-width marks) are shown as \x.. / \u.... escapes instead of being interpreted.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;

export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** JSON text with the same characters escaped (one definition, with the exports'). */
export { safeJson } from '../export/text.js';
