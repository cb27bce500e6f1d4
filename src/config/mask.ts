/** The effective config for logs: passwords masked, CA bundles summarised, regexes as text. */
import type { PipelineConfig } from './types';

export const MASK = '****';

function mask(v: unknown, key: string): unknown {
  if (v instanceof RegExp) return v.source;
  if (Array.isArray(v)) return v.map((x) => mask(x, key));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = mask(x, k);
    return out;
  }
  if (typeof v === 'string') {
    if (/password|secret|token/i.test(key)) return v === '' ? '' : MASK;
    if (key === 'ca') return `<PEM, ${v.length} chars>`;
  }
  return v;
}

export function maskConfig(cfg: PipelineConfig): Record<string, unknown> {
  return mask(cfg, '') as Record<string, unknown>;
}

/** A postgresql:// URI with its password replaced, for messages that quote an address. */
export function maskUri(uri: string): string {
  return uri.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, `$1${MASK}@`);
}
