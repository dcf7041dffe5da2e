import type { z } from 'zod';
import { configSchema } from './config-schema.js';

/** One line for one problem of a config: the key, what is wrong, what is allowed, and the value given. */
export function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const key = issue.path.map(String).join('.');
  let value: unknown = raw;
  for (const p of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
  const got = value === undefined ? 'nothing' : JSON.stringify(value);
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(configSchema, issue.path);
    const hints = issue.keys.map((k) => {
      const near = allowed.find((a) => closeEnough(k, a));
      return near === undefined ? `"${k}"` : `"${k}" (did you mean "${near}"?)`;
    });
    return `${key ? `\`${key}\`` : 'the config'} has unknown key(s) ${hints.join(', ')}${allowed.length > 0 ? `; allowed: ${allowed.join(', ')}` : ''}`;
  }
  // A model name that breaks the naming rule: the rule, not the model's whole definition.
  if (issue.code === 'invalid_key') return `\`${key}\`: the name ${JSON.stringify(issue.path.at(-1))} is not allowed: ${issue.issues.map((i) => i.message).join('; ')}`;
  if (issue.code === 'custom') return `\`${key}\` ${issue.message}`;
  // The whole file: its key is empty, and "`` expected object, got null" named nothing.
  if (issue.code === 'invalid_type' && issue.path.length === 0) return `the config must be a YAML mapping with a \`models:\` key (each model's command, devices, …), got ${value === null || value === undefined ? 'nothing (an empty file, or only comments)' : got}`;
  if (issue.code === 'invalid_type' && key === 'models') return `\`models\` must map each model's name to its definition (command, devices, …), got ${got}`;
  // zod says "expected object, received null": the value given follows anyway.
  if (issue.code === 'invalid_type') return `\`${key}\` expected ${issue.expected}${key.split('.').length === 2 && key.startsWith('models.') ? ' (the model\'s definition: command, devices, …)' : ''}, got ${got}`;
  return `\`${key}\` ${issue.message.replace(/^Invalid input: /, '')}, got ${got}`;
}

/** The keys an object of the schema allows at `path` (through records, defaults, optionals and transforms). */
function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let at: z.core.$ZodType | undefined = schema;
  let i = 0;
  while (at !== undefined) {
    const def = at._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; valueType?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };
    if (def.innerType) {
      at = def.innerType; // a default, an optional
      continue;
    }
    if (def.type === 'pipe') {
      at = def.in; // a transform
      continue;
    }
    if (i === path.length) return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    const step = String(path[i++]);
    if (def.type === 'record') at = def.valueType;
    else if (def.type === 'object' && def.shape) at = def.shape[step];
    else return [];
  }
  return [];
}

/** Whether `typed` is a likely slip for `known`: one edit or one swap of neighbours apart, or the same but for case and _ -. */
function closeEnough(typed: string, known: string): boolean {
  const plain = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  if (plain(typed) === plain(known)) return true;
  if (Math.abs(typed.length - known.length) > 1) return false;
  let i = 0;
  while (i < typed.length && i < known.length && typed[i] === known[i]) i++;
  const swapped = typed[i] === known[i + 1] && typed[i + 1] === known[i] && typed.slice(i + 2) === known.slice(i + 2);
  // One substitution, deletion or insertion, or two neighbours swapped.
  return typed.slice(i + 1) === known.slice(i + 1) || typed.slice(i) === known.slice(i + 1) || typed.slice(i + 1) === known.slice(i) || swapped;
}
