import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { GpupoolError } from '../errors/index.js';
import { configSchema, type GpupoolConfig, type ModelConfig } from './config-schema.js';
import { describeIssue } from './describe-config-issue.js';

/**
 * The config with every key whose value is null left out: in YAML a key written with nothing
 * after it (`max_cost:`) is null, and means "not set" to whoever wrote it, as in the reference
 * of docs/config.md. Nulls inside lists stay, and are refused by the schema.
 */
function withoutNullKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(withoutNullKeys);
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNullKeys(v)]));
}

/** {@link withoutNullKeys} for a whole config, but a model with nothing under its name stays, to be refused by name rather than vanish. */
function withoutNullKeysOfConfig(raw: unknown): unknown {
  const out = withoutNullKeys(raw);
  const models = (raw as { models?: unknown } | null)?.models;
  if (models === null || typeof models !== 'object' || Array.isArray(models)) return out;
  const kept = out as { models: Record<string, unknown> };
  for (const [name, m] of Object.entries(models)) if (m === null) kept.models[name] = null;
  return kept;
}

/** Validates a parsed config object; every problem is named with its key and value. */
export function resolveConfig(given: unknown, baseDir: string, file?: string): GpupoolConfig {
  const raw = withoutNullKeysOfConfig(given);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => describeIssue(i, raw));
    throw new GpupoolError('GPUPOOL_E_CONFIG', `${file ?? 'config'}: ${lines.join('; ')}`);
  }
  const models: Record<string, ModelConfig> = {};
  for (const [name, m] of Object.entries(parsed.data.models)) models[name] = Object.freeze({ ...m, name });
  return Object.freeze({ file, baseDir, models: Object.freeze(models) });
}

export function loadConfig(file: string): GpupoolConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code;
    const what = why === 'EISDIR' ? 'is a folder: -c takes the YAML file (its models: …)' : why === 'EACCES' ? 'cannot be read (permission denied)' : 'does not exist';
    throw new GpupoolError('GPUPOOL_E_CONFIG_NOT_FOUND', `config file "${file}" ${what}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    // The parser's first line ends "at line L, column C:" before a code frame: name the line's text instead.
    const at = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    const first = (err as Error).message.split('\n')[0].replace(/ at line \d+, column \d+:$/, '');
    const where = at ? ` at line ${at.line}, column ${at.col} (${JSON.stringify(text.split('\n')[at.line - 1] ?? '')})` : '';
    throw new GpupoolError('GPUPOOL_E_CONFIG', `${file} is not valid YAML${where}: ${first}`);
  }
  return resolveConfig(raw, path.dirname(abs), abs);
}

/** The model a command works on: `-m`, or the only one. */
export function pickModel(config: GpupoolConfig, name?: string): ModelConfig {
  const names = Object.keys(config.models);
  if (name !== undefined) {
    const m = config.models[name];
    if (!m) throw new GpupoolError('GPUPOOL_E_UNKNOWN_MODEL', `unknown model "${name}"; the config defines: ${names.join(', ')}`);
    return m;
  }
  if (names.length > 1) throw new GpupoolError('GPUPOOL_E_MODEL_REQUIRED', `the config defines ${names.length} models (${names.join(', ')}): choose one with -m`);
  return config.models[names[0]];
}
