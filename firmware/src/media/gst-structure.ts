/** A GstStructure's numeric and text fields, as `gst_structure_to_string` writes them. */
export interface ParsedStructure {
  name: string;
  fields: Record<string, number | string | boolean>;
}

export class StructureParseError extends Error {
  readonly code = 'BAD_STRUCTURE';
}

/**
 * Reads `name, field=(type)value, field=(type)"text", …;` — the serialisation of a GstStructure
 * (GStreamer's gst_value_serialize rules): a typed value per field, strings quoted with backslash
 * escapes. Nested structures, arrays and lists are skipped (not needed for statistics). Pure and
 * total: bad text throws StructureParseError naming the position.
 */
export function parseStructure(text: string): ParsedStructure {
  let at = 0;
  const fail = (what: string): never => {
    throw new StructureParseError(`${what} at character ${at} of a GStreamer structure`);
  };
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const readName = () => {
    const start = at;
    while (at < text.length && /[A-Za-z0-9_\-+/:.]/.test(text[at]!)) at++;
    if (at === start) fail('expected a name');
    return text.slice(start, at);
  };
  skipSpace();
  const name = readName();
  const fields: ParsedStructure['fields'] = {};
  for (;;) {
    skipSpace();
    if (at >= text.length || text[at] === ';') break;
    if (text[at] !== ',') fail('expected ","');
    at++;
    skipSpace();
    const field = readName();
    skipSpace();
    if (text[at] !== '=') fail(`expected "=" after ${field}`);
    at++;
    skipSpace();
    let type: string | null = null;
    if (text[at] === '(') {
      const close = text.indexOf(')', at);
      if (close < 0) fail('unclosed type');
      type = text.slice(at + 1, close);
      at = close + 1;
    }
    const value = readValue();
    if (value !== undefined) fields[field] = convert(type, value);
  }
  return { name, fields };

  function readValue(): string | undefined {
    const c = text[at];
    if (c === '"') {
      let out = '';
      at++;
      while (at < text.length && text[at] !== '"') {
        if (text[at] === '\\') at++;
        if (at >= text.length) break;
        out += text[at++];
      }
      if (text[at] !== '"') fail('unclosed string');
      at++;
      return out;
    }
    if (c === '{' || c === '<' || c === '[') {
      // A list, array or range: skip to its matching end, it is not used.
      const open = c;
      const close = c === '{' ? '}' : c === '<' ? '>' : ']';
      let depth = 0;
      for (; at < text.length; at++) {
        if (text[at] === open) depth++;
        else if (text[at] === close && --depth === 0) break;
      }
      if (at >= text.length) fail(`unclosed ${open}`);
      at++;
      return undefined;
    }
    const start = at;
    while (at < text.length && text[at] !== ',' && text[at] !== ';') at++;
    return text.slice(start, at).trim();
  }
}

function convert(type: string | null, value: string): number | string | boolean {
  if (type === 'boolean') return /^(true|yes|1)$/i.test(value);
  if (type === 'string' || type === null) {
    const n = Number(value);
    return type === null && value !== '' && Number.isFinite(n) ? n : value;
  }
  // A typed field with nothing after its type is no number (Number('') would be 0).
  const n = Number(value);
  return value !== '' && Number.isFinite(n) ? n : value;
}

/** A numeric field, or null when it is absent or not a number. */
export function numberField(s: ParsedStructure, field: string): number | null {
  const v = s.fields[field];
  return typeof v === 'number' ? v : null;
}
