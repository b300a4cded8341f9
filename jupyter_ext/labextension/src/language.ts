/**
 * The causaldsl language for CodeMirror 6: a line tokenizer (StreamLanguage)
 * plus a highlighter that puts fixed `cdsl-*` classes on the tokens.
 *
 * grammar/causal.lark is the authority on syntax. tests/test_labextension.py
 * reads the grammar and causaldsl.distributions and fails when a word they
 * define is missing from WORDS, so keep the lists below as plain
 * space-separated string literals: the test finds them in the built bundle.
 */
import {
  LanguageSupport,
  StreamLanguage,
  StringStream,
  syntaxHighlighting
} from '@codemirror/language';
import { Tag, tagHighlighter } from '@lezer/highlight';

export const WORDS = {
  keyword:
    'model graph latent param fit to if then else and or not table do identify bounds via',
  query:
    'P E ATE ETT NDE NIE PN PS PNS CDE RR OR Var Q cause responsibility adjustment instruments independences ' +
    'ancestors descendants parents children markov_blanket admg',
  distribution:
    'Bernoulli Categorical Binomial Poisson Normal LogNormal StudentT Uniform ' +
    'Exponential Gamma Beta HalfNormal',
  function: 'exp log sqrt abs min max sigmoid'
};

const set = (words: string) => new Set(words.split(' '));
const KEYWORDS = set(WORDS.keyword);
const QUERIES = set(WORDS.query);
const DISTRIBUTIONS = set(WORDS.distribution);
const FUNCTIONS = set(WORDS.function);

/**
 * One private tag per token kind. A token carries a standard tag (so the
 * JupyterLab theme colours it as usual) and one of these (so the highlighter
 * below adds a stable class that tests and user CSS can rely on; the theme's
 * own classes are generated names like `ͼ1x`).
 */
const KINDS = [
  'keyword',
  'distribution',
  'query',
  'function',
  'operator',
  'number',
  'string',
  'comment',
  'variable',
  'magic'
] as const;
type Kind = (typeof KINDS)[number];
const privateTags = {} as Record<Kind, Tag>;
for (const kind of KINDS) {
  privateTags[kind] = Tag.define();
}

/** The standard tag names (see @lezer/highlight `tags`) each kind also gets. */
const STANDARD: Record<Kind, string> = {
  keyword: 'keyword',
  distribution: 'variableName.standard', // the theme's "builtin" colour
  query: 'variableName.function.definition', // the theme's "def" colour
  function: 'variableName.standard',
  operator: 'operator',
  number: 'number',
  string: 'string',
  comment: 'lineComment',
  variable: 'variableName',
  magic: 'meta'
};

/** The token string StreamLanguage resolves: "<standard tag> cdsl_<kind>". */
const token = (kind: Kind) => `${STANDARD[kind]} cdsl_${kind}`;

interface State {
  /** No token yet on this line: queries only start a line. */
  lineStart: boolean;
  /** The previous word, for `identify P(...)`. */
  previous: string;
}

const OPERATOR = /^(?:_\|\|_|<->|->|<-|:=|\*\*|==|!=|<=|>=|[~|<>=+\-*/])/;
const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const STRING = /^(?:"[^"\n]*"?|'[^'\n]*'?)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function word(name: string, stream: StringStream, state: State): Kind {
  if (KEYWORDS.has(name)) {
    return 'keyword';
  }
  // Query heads are also legal variable names (a variable `E` or `parents`),
  // so only a word that starts a line (or follows `identify` or `bounds`) is a query.
  if (QUERIES.has(name) && (state.lineStart || state.previous === 'identify' || state.previous === 'bounds')) {
    return 'query';
  }
  if (DISTRIBUTIONS.has(name)) {
    return 'distribution';
  }
  if (FUNCTIONS.has(name) && stream.match(/^\s*\(/, false)) {
    return 'function';
  }
  return 'variable';
}

function next(stream: StringStream, state: State): string | null {
  if (stream.sol()) {
    state.lineStart = true;
    // The cell magic line, arguments included (`%%causal m --seed 1`).
    if (stream.match(/^%%causal\b.*/)) {
      state.lineStart = false;
      return token('magic');
    }
  }
  if (stream.eatSpace()) {
    return null;
  }
  const lineStart = state.lineStart;
  state.lineStart = false;
  if (stream.match(/^#.*/)) {
    state.lineStart = lineStart; // a comment does not start a statement
    return token('comment');
  }
  if (stream.match(STRING)) {
    return token('string');
  }
  if (stream.match(NUMBER)) {
    return token('number');
  }
  // Before names: `_||_` starts with a name character.
  if (stream.match(OPERATOR)) {
    return token('operator');
  }
  const name = stream.match(NAME) as RegExpMatchArray | null;
  if (name) {
    const kind = word(name[0], stream, { ...state, lineStart });
    state.previous = name[0];
    return token(kind);
  }
  const ch = stream.next() as string;
  if ('()'.includes(ch)) {
    return 'paren';
  }
  if ('[]'.includes(ch)) {
    return 'squareBracket';
  }
  if ('{}'.includes(ch)) {
    return 'brace';
  }
  if (',;'.includes(ch)) {
    return 'separator';
  }
  return ch === ':' ? 'punctuation' : null;
}

const tokenTable: Record<string, Tag> = {};
for (const kind of KINDS) {
  tokenTable[`cdsl_${kind}`] = privateTags[kind];
}

export const causalLanguage = StreamLanguage.define<State>({
  name: 'causal',
  startState: () => ({ lineStart: true, previous: '' }),
  copyState: state => ({ ...state }),
  token: next,
  tokenTable,
  languageData: { commentTokens: { line: '#' } }
});

/** Adds `cdsl-<kind>` to each token, next to the theme's classes. */
export const causalClasses = syntaxHighlighting(
  tagHighlighter(
    KINDS.map(kind => ({ tag: privateTags[kind], class: `cdsl-${kind}` }))
  )
);

export function causal(): LanguageSupport {
  return new LanguageSupport(causalLanguage, [causalClasses]);
}
