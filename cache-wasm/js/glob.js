import { bindings } from './wasm.js';

/** The glob `pattern` (`*` any run, `?` one character, `\` escapes) as an anchored RegExp. */
export function globToRegExp(pattern) {
  return new RegExp(bindings.patternToRegExpSource(pattern), 'u');
}
