#!/usr/bin/python3
"""Golden data for tokenizer/ (GPT-2 byte-level BPE).

The Encoder class below is a faithful copy of OpenAI's gpt-2 src/encoder.py
(https://github.com/openai/gpt-2/blob/master/src/encoder.py, MIT licence);
only get_encoder() is changed to take file paths. It needs the third-party
`regex` module (Debian: apt-get install python3-regex). Run from anywhere:

    /usr/bin/python3 tools/golden/bpe_golden.py

It writes, under testdata/ of the repository:

  bpe_golden.json          [{"text", "ids"}]: encode() of varied texts; text
                           is split on "<|endoftext|>" and the pieces' ids are
                           joined with 50256 (tiktoken's allowed_special
                           behaviour, which the Go tokenizer implements).
  bpe_pretok_golden.json   [{"text", "pieces"}]: regex.findall of the GPT-2
                           pattern on the same texts.
  bpe_decode_golden.json   [{"ids", "text"}]: decode() of id sequences that
                           include invalid UTF-8 (errors="replace").
  bpe_digest_golden.json   token count and SHA-256 of the little-endian int32
                           ids of the whole of tinyshakespeare.txt.
  bpe_unicode_classes.json code point ranges of \\s, \\p{L} and \\p{N} as
                           the regex module sees them.
"""

import argparse
import hashlib
import json
import os
import random
import struct
import sys

import regex as re
from functools import lru_cache

# ---------------------------------------------------------------------------
# Begin: copy of gpt-2 src/encoder.py
# ---------------------------------------------------------------------------


@lru_cache()
def bytes_to_unicode():
    """
    Returns list of utf-8 byte and a corresponding list of unicode strings.
    The reversible bpe codes work on unicode strings.
    This means you need a large # of unicode characters in your vocab if you want to avoid UNKs.
    When you're at something like a 10B token dataset you end up needing around 5K for decent coverage.
    This is a signficant percentage of your normal, say, 32K bpe vocab.
    To avoid that, we want lookup tables between utf-8 bytes and unicode strings.
    And avoids mapping to whitespace/control characters the bpe code barfs on.
    """
    bs = list(range(ord("!"), ord("~")+1))+list(range(ord("¡"), ord("¬")+1))+list(range(ord("®"), ord("ÿ")+1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8+n)
            n += 1
    cs = [chr(n) for n in cs]
    return dict(zip(bs, cs))


def get_pairs(word):
    """Return set of symbol pairs in a word.

    Word is represented as tuple of symbols (symbols being variable-length strings).
    """
    pairs = set()
    prev_char = word[0]
    for char in word[1:]:
        pairs.add((prev_char, char))
        prev_char = char
    return pairs


class Encoder:
    def __init__(self, encoder, bpe_merges, errors='replace'):
        self.encoder = encoder
        self.decoder = {v:k for k,v in self.encoder.items()}
        self.errors = errors # how to handle errors in decoding
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v:k for k, v in self.byte_encoder.items()}
        self.bpe_ranks = dict(zip(bpe_merges, range(len(bpe_merges))))
        self.cache = {}

        # Should haved added re.IGNORECASE so BPE merges can happen for capitalized versions of contractions
        self.pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)

        if not pairs:
            return token

        while True:
            bigram = min(pairs, key = lambda pair: self.bpe_ranks.get(pair, float('inf')))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except:
                    new_word.extend(word[i:])
                    break

                if word[i] == first and i < len(word)-1 and word[i+1] == second:
                    new_word.append(first+second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            new_word = tuple(new_word)
            word = new_word
            if len(word) == 1:
                break
            else:
                pairs = get_pairs(word)
        word = ' '.join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        for token in re.findall(self.pat, text):
            token = ''.join(self.byte_encoder[b] for b in token.encode('utf-8'))
            bpe_tokens.extend(self.encoder[bpe_token] for bpe_token in self.bpe(token).split(' '))
        return bpe_tokens

    def decode(self, tokens):
        text = ''.join([self.decoder[token] for token in tokens])
        text = bytearray([self.byte_decoder[c] for c in text]).decode('utf-8', errors=self.errors)
        return text


def get_encoder(encoder_json, vocab_bpe):
    # Changed from the original: explicit file paths instead of
    # models_dir/model_name.
    with open(encoder_json, 'r') as f:
        encoder = json.load(f)
    with open(vocab_bpe, 'r', encoding="utf-8") as f:
        bpe_data = f.read()
    bpe_merges = [tuple(merge_str.split()) for merge_str in bpe_data.split('\n')[1:-1]]
    return Encoder(
        encoder=encoder,
        bpe_merges=bpe_merges,
    )

# ---------------------------------------------------------------------------
# End: copy of gpt-2 src/encoder.py
# ---------------------------------------------------------------------------

EOT = "<|endoftext|>"


def encode_with_eot(enc, text):
    """encode(), but "<|endoftext|>" in the text becomes its single id."""
    eot_id = enc.encoder[EOT]
    ids = []
    for i, part in enumerate(text.split(EOT)):
        if i > 0:
            ids.append(eot_id)
        ids.extend(enc.encode(part))
    return ids


def fixed_texts(shakespeare):
    texts = [
        "",
        " ",
        "a",
        "Hello, world!",
        "Hello world",
        " Hello world ",
        "The quick brown fox jumps over the lazy dog.",
        "don't I'll we've they're she's I'm you'd DON'T I'LL O'Neil's rock'n'roll",
        "'s 't 're 've 'm 'll 'd 'S 'T 'RE ' ''s '''",
        "it''s a 'quote' and \"double quotes\" and `ticks`",
        "   leading spaces",
        "trailing spaces   ",
        "\tTabs\tand\t\ttabs\t",
        "line one\nline two\n\nline four\n",
        "\n\n\nstarts with newlines",
        "windows\r\nline\r\nendings\r\n",
        "mixed \t \n  whitespace \u00a0 nbsp \u2003 em-space \u3000 ideographic",
        "a  b   c    d     e",
        "     ",
        "\n",
        "\t",
        " \n ",
        "x \n\t y",
        "numbers: 0 1 12 123 1234 12345 3.14159 -42 1e10 0xFF 1,000,000",
        "year 2024, phone +1 (555) 123-4567, 50% off, $19.99",
        "def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n",
        "func main() {\n\tfmt.Println(\"hi\")\n}\n",
        "for (int i = 0; i < n; ++i) { a[i] += b[i] * c; }",
        "<html><body class=\"x\">&amp; &lt;tag&gt;</body></html>",
        "https://example.com/path?query=1&b=two#frag user@example.org",
        "!!! ??? ... --- *** ### @@@ ~~~ ^^^ ||| \\\\ //",
        "café naïve résumé façade Ångström Zürich straße",
        "cafe\u0301 nai\u0308ve",  # combining marks
        "Ελληνικά Русский текст Українська",
        "中文文本测试，你好世界。日本語のテキスト、カタカナ。한국어 텍스트",
        "العربية نص تجريبي ١٢٣ עברית",
        "हिन्दी पाठ देवनागरी",
        "ไทย ภาษาไทย",
        "emoji 😀😃 👍🏽 👨‍👩‍👧‍👦 🇺🇸 ❤️ ✨🚀",
        "zero\u200bwidth\u200cjoiners\u200dand\ufeffbom",
        "soft\u00adhyphen and word\u2060joiner",
        "fullwidth ＡＢＣ １２３ and superscripts x² y³ ½ ¼ Ⅻ ⅷ",
        "math ∑∫∂√∞ ≤ ≥ ≠ ± × ÷ → ⇒",
        "\u0000\u0001\u001f\u007f control chars \u0085 nel \u2028 ls \u2029 ps",
        "\u001c\u001d\u001e\u001f separators",
        "\x0b\x0c vertical tab form feed",
        "private \ue000\uf8ff and astral \U0001F600 \U00010000 \U0010FFFD",
        "<|endoftext|>",
        "first document<|endoftext|>second document",
        "<|endoftext|><|endoftext|>",
        " <|endoftext|> spaced <|endoftext|>",
        "partial <|endoftext| and <|endoftext and |endoftext|>",
        "ababababababababababab",
        "a" * 300,
        " " * 100 + "x",
        "!" * 97,
        "1234567890" * 20,
        "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
        "Ġ Ċ ĉ ā",  # characters of the byte alphabet itself
    ]
    if shakespeare:
        texts.append(shakespeare[:6000])
        mid = len(shakespeare) // 2
        texts.append(shakespeare[mid:mid + 3000])
    return texts


def random_texts(n, seed):
    rng = random.Random(seed)
    pools = [
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        list("0123456789"),
        list(" \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2009\u200a\u2028\u2029\u202f\u205f\u3000\x1c\x1d\x1e\x1f"),
        list("          "),  # plain spaces are common
        list("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~"),
        ["'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'Re", "''"],
        list("éèàçñøßðþæœÅÉ") + ["e\u0301", "a\u0308", "\u0301", "\u0308\u0327"],
        list("αβγδΩЖжщЯ"),
        list("中文字日本語한국어カタカナひらがな"),
        list("العربيةעברית"),
        list("हिन्दीक्षத்தமிழ்"),
        list("٠١٢٣٤٥६७८９０²³½Ⅻⅷ〇"),
        ["😀", "👍🏽", "👨‍👩‍👧", "🇺🇸", "❤️", "\u200b", "\u200d", "\ufeff", "\u00ad", "\ufe0f"],
        ["<|endoftext|>", "<|endoftext", "|>", "<|"],
        ["the", " the", " and", " of", "ing", "tion", " don't", " I'm", "http", "://"],
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 40)):
            r = rng.random()
            if r < 0.08:
                # any scalar value: assigned or not, any category
                while True:
                    cp = rng.choice([rng.randint(0, 0x7ff), rng.randint(0, 0xffff), rng.randint(0, 0x10ffff)])
                    if not 0xd800 <= cp <= 0xdfff:
                        break
                parts.append(chr(cp))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
        out.append("".join(parts))
    return out


def decode_cases(enc):
    """Id sequences whose bytes may be invalid UTF-8."""
    be = enc.byte_encoder

    def byte_ids(bs):
        return [enc.encoder[be[b]] for b in bs]

    raw = [
        b"\xe2\x82", b"\xe2\x82\xac", b"\xff", b"\xff\xfe", b"\x80\x80abc",
        b"\xc0\xaf", b"\xc1\xbf", b"\xc2", b"\xc2A", b"\xe0\x80\x80", b"\xe0\xa0",
        b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80",
        b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xf5\x80",
        b"a\xf0\x9fb\xe2\x82c\xe2", b"\xe1\x80\xe1\x80\x80", b"\xf1\x80\x80\xe2\x82\xac",
    ]
    cases = [byte_ids(r) for r in raw]
    # Single tokens and prefixes of multi-byte text.
    for text in ["emoji 😀😃 👍🏽 👨‍👩‍👧‍👦", "中文文本测试", "café naïve", "العربية"]:
        ids = enc.encode(text)
        cases.extend([i] for i in ids)
        cases.extend(ids[:k] for k in range(1, len(ids)))
    rng = random.Random(7)
    for _ in range(200):
        cases.append([rng.randrange(50257) for _ in range(rng.randint(1, 6))])
    return [{"ids": ids, "text": enc.decode(ids)} for ids in cases]


def unicode_classes():
    s, l, n = re.compile(r"\s"), re.compile(r"\p{L}"), re.compile(r"\p{N}")
    ranges = []
    for cp in range(0x110000):
        if 0xd800 <= cp <= 0xdfff:
            continue
        c = chr(cp)
        k = "S" if s.match(c) else "L" if l.match(c) else "N" if n.match(c) else None
        if k is None:
            continue
        if ranges and ranges[-1][2] == k and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp, k])
    return ranges


def main():
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    shared = os.path.normpath(os.path.join(root, "..", "shared", "data"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpt2", default=os.path.join(shared, "gpt2"), help="directory with encoder.json and vocab.bpe")
    ap.add_argument("--shakespeare", default=os.path.join(shared, "tinyshakespeare.txt"))
    ap.add_argument("--out", default=os.path.join(root, "testdata"))
    args = ap.parse_args()

    enc = get_encoder(os.path.join(args.gpt2, "encoder.json"), os.path.join(args.gpt2, "vocab.bpe"))
    with open(args.shakespeare, encoding="utf-8", newline="") as f:
        shakespeare = f.read()

    texts = fixed_texts(shakespeare) + random_texts(400, seed=1234)
    golden = [{"text": t, "ids": encode_with_eot(enc, t)} for t in texts]
    for g in golden:
        assert enc.decode(g["ids"]) == g["text"], g["text"]
    pretok = [{"text": t, "pieces": re.findall(enc.pat, t)} for t in texts]

    ids = enc.encode(shakespeare)
    digest = {
        "file": os.path.basename(args.shakespeare),
        "file_sha256": hashlib.sha256(shakespeare.encode("utf-8")).hexdigest(),
        "n_tokens": len(ids),
        "ids_sha256": hashlib.sha256(struct.pack("<%di" % len(ids), *ids)).hexdigest(),
        "first_ids": ids[:64],
    }

    os.makedirs(args.out, exist_ok=True)

    def write(name, obj):
        path = os.path.join(args.out, name)
        with open(path, "w", encoding="ascii") as f:
            json.dump(obj, f, ensure_ascii=True, separators=(",", ":"))
            f.write("\n")
        print("wrote", path, file=sys.stderr)

    write("bpe_golden.json", golden)
    write("bpe_pretok_golden.json", pretok)
    write("bpe_decode_golden.json", decode_cases(enc))
    write("bpe_digest_golden.json", digest)
    write("bpe_unicode_classes.json", unicode_classes())


if __name__ == "__main__":
    main()
