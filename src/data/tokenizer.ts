// Tokenization for text models from a Hugging Face tokenizer.json, through @huggingface/tokenizers.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { builtinTokenizerJson } from './bert-tokenizer.js';
import { DataError } from './errors.js';

export interface TextTokenizer {
  encode(text: string, maxLength: number): { ids: number[]; mask: number[]; typeIds: number[] };
}

/** A tokenizer.json file, or `builtin:bert-base-uncased` (src/data/bert-tokenizer.ts). */
export function loadTokenizer(path: string): TextTokenizer {
  const builtin = builtinTokenizerJson(path);
  let json: unknown = builtin;
  let config: unknown = {};
  if (!builtin) {
    if (!existsSync(path))
      throw new DataError(`tokenizer not found: ${path}`, 'preprocess.tokenizer must point at a tokenizer.json, or be builtin:bert-base-uncased');
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new DataError(`${path}: not valid JSON: ${(e as Error).message}`);
    }
    const configPath = join(dirname(path), 'tokenizer_config.json');
    config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : {};
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as object, config as object);
  } catch (e) {
    throw new DataError(`${path}: not a tokenizer this library can load: ${(e as Error).message}`);
  }
  return {
    encode(text, maxLength) {
      const e = tok.encode(text, { return_token_type_ids: true });
      const n = Math.min(e.ids.length, maxLength);
      return {
        ids: e.ids.slice(0, n),
        mask: e.attention_mask.slice(0, n),
        typeIds: (e.token_type_ids ?? []).slice(0, n).concat(new Array<number>(Math.max(0, n - (e.token_type_ids?.length ?? 0))).fill(0)),
      };
    },
  };
}
