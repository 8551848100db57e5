package tokenizer

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// EndOfText is the text of GPT-2's end-of-text special token (id 50256 in
// the GPT-2 vocabulary).
const EndOfText = "<|endoftext|>"

// BPE is GPT-2's byte-level byte-pair-encoding tokenizer. With the GPT-2
// files it produces exactly the ids of OpenAI's gpt-2 src/encoder.py
// (Encoder.encode), with one deliberate addition: special tokens written
// literally in the text are encoded as their single id. For GPT-2 that is
// "<|endoftext|>" → 50256, the same as tiktoken's
// encode(text, allowed_special="all"); encoder.py itself would spell it out
// as ordinary text. Tokenizers loaded from a tokenizer.json also treat each
// of its added_tokens that way.
//
// Encoding works like encoder.py: the text is split by the GPT-2
// pre-tokenisation pattern (see pretokenize), each piece's UTF-8 bytes are
// mapped to byte symbols and merged pairwise, lowest merge rank first, every
// occurrence of the chosen pair left to right, until no ranked pair remains.
// Results for short pieces are kept in a bounded cache.
//
// A BPE is safe for concurrent use.
type BPE struct {
	byteID   [256]int32           // id of the single-byte symbol for each byte
	merges   map[uint64]mergeRule // (left id, right id) → rank and result id
	tokBytes [][]byte             // id → decoded bytes; nil for unused ids
	specials []special            // literal special tokens, longest first
	eot      int32
	cache    wordCache
}

var _ Tokenizer = (*BPE)(nil)

type mergeRule struct {
	rank   int32
	result int32
}

type special struct {
	text string
	id   int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// VocabSize returns one more than the largest id in the vocabulary (50257
// for GPT-2).
func (t *BPE) VocabSize() int { return len(t.tokBytes) }

// EOT returns the id of "<|endoftext|>", or -1 if the vocabulary lacks it.
func (t *BPE) EOT() int32 { return t.eot }

// Encode returns the token ids of text. Bytes that are not valid UTF-8 are
// encoded too (as "other" characters for pre-tokenisation), so
// DecodeBytes(Encode(s)) == s for every string s.
func (t *BPE) Encode(text string) []int32 {
	ids := make([]int32, 0, len(text)/4+1)
	for len(text) > 0 {
		pos, sp := t.nextSpecial(text)
		if pos < 0 {
			return t.encodeOrdinary(ids, text)
		}
		ids = t.encodeOrdinary(ids, text[:pos])
		ids = append(ids, sp.id)
		text = text[pos+len(sp.text):]
	}
	return ids
}

// nextSpecial finds the leftmost special token in s (the longest one if
// several start there), or returns -1.
func (t *BPE) nextSpecial(s string) (int, special) {
	best, bestSp := -1, special{}
	for _, sp := range t.specials { // longest first, so ties keep the longest
		limit := len(s)
		if best >= 0 {
			limit = min(best+len(sp.text), len(s))
		}
		if p := strings.Index(s[:limit], sp.text); p >= 0 && (best < 0 || p < best) {
			best, bestSp = p, sp
		}
	}
	return best, bestSp
}

func (t *BPE) encodeOrdinary(ids []int32, text string) []int32 {
	pretokenize(text, func(word string) {
		if len(word) == 1 {
			ids = append(ids, t.byteID[word[0]])
			return
		}
		if len(word) <= maxCachedWordLen {
			if cached, ok := t.cache.get(word); ok {
				ids = append(ids, cached...)
				return
			}
		}
		start := len(ids)
		ids = t.bpeWord(ids, word)
		if len(word) <= maxCachedWordLen {
			t.cache.put(word, ids[start:])
		}
	})
	return ids
}

// bpeWord appends the merged symbols of word to ids.
func (t *BPE) bpeWord(ids []int32, word string) []int32 {
	start := len(ids)
	for i := 0; i < len(word); i++ {
		ids = append(ids, t.byteID[word[i]])
	}
	var merged []int32
	if len(word) <= heapMergeThreshold {
		merged = t.mergeSimple(ids[start:])
	} else {
		merged = t.mergeHeap(ids[start:])
	}
	return ids[:start+len(merged)]
}

// heapMergeThreshold is the word length above which mergeHeap
// (O(n log n)) is used instead of the direct port of encoder.py's loop
// (O(n²)); both give identical results.
const heapMergeThreshold = 40

// mergeSimple is encoder.py's bpe loop: find the lowest-ranked adjacent pair,
// replace all its occurrences left to right, repeat. It works in place and
// returns the prefix of syms holding the result.
func (t *BPE) mergeSimple(syms []int32) []int32 {
	for len(syms) > 1 {
		best := mergeRule{rank: -1}
		var a, b int32
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.merges[pairKey(syms[i], syms[i+1])]; ok && (best.rank < 0 || m.rank < best.rank) {
				best, a, b = m, syms[i], syms[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		out := syms[:0]
		for i := 0; i < len(syms); {
			if syms[i] == a && i+1 < len(syms) && syms[i+1] == b {
				out = append(out, best.result)
				i += 2
			} else {
				out = append(out, syms[i])
				i++
			}
		}
		syms = out
	}
	return syms
}

// mergeHeap computes the same result as mergeSimple with a priority queue of
// candidate pairs over a linked list of symbols. Each round pops every
// queued pair of the lowest rank (they are all occurrences of one pair, in
// left-to-right order) and merges the ones still present, which is exactly
// one pass of encoder.py's loop; pairs created by a round are queued for
// later rounds.
func (t *BPE) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	next := make([]int32, n) // -1 at the end; node i starts at byte i
	prev := make([]int32, n)
	for i := range n {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	var h pairHeap
	push := func(i int32) {
		if j := next[i]; j >= 0 {
			if m, ok := t.merges[pairKey(syms[i], syms[j])]; ok {
				h.push(uint64(uint32(m.rank))<<32 | uint64(uint32(i)))
			}
		}
	}
	for i := range n - 1 {
		push(int32(i))
	}
	var round, touched []int32
	for len(h) > 0 {
		top := h.pop()
		rank := int32(top >> 32)
		round = append(round[:0], int32(uint32(top)))
		for len(h) > 0 && int32(h[0]>>32) == rank {
			round = append(round, int32(uint32(h.pop())))
		}
		// All entries of this rank name the same pair; find it from a live one.
		var a, b, result int32 = -1, -1, -1
		for _, i := range round {
			if j := next[i]; alive[i] && j >= 0 {
				if m, ok := t.merges[pairKey(syms[i], syms[j])]; ok && m.rank == rank {
					a, b, result = syms[i], syms[j], m.result
					break
				}
			}
		}
		if result < 0 {
			continue // every entry was stale
		}
		touched = touched[:0]
		for _, i := range round {
			j := next[i]
			if !alive[i] || j < 0 || syms[i] != a || syms[j] != b {
				continue
			}
			syms[i] = result
			alive[j] = false
			k := next[j]
			next[i] = k
			if k >= 0 {
				prev[k] = i
			}
			touched = append(touched, i)
		}
		for _, i := range touched {
			if !alive[i] {
				continue
			}
			if p := prev[i]; p >= 0 {
				push(p)
			}
			push(i)
		}
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

// pairHeap is a binary min-heap of rank<<32|position keys.
type pairHeap []uint64

func (h *pairHeap) push(x uint64) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *pairHeap) pop() uint64 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r] < s[l] {
			m = r
		}
		if s[i] <= s[m] {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// Decode returns the text of ids: the concatenated token bytes decoded as
// UTF-8 with Python's errors="replace" behaviour. Ids outside the vocabulary
// decode to U+FFFD. Special tokens decode to their text.
func (t *BPE) Decode(ids []int32) string {
	return decodeReplace(t.DecodeBytes(ids))
}

// DecodeBytes returns the raw concatenated bytes of ids, without UTF-8
// repair (a single token may hold part of a multi-byte character). Ids
// outside the vocabulary contribute the UTF-8 encoding of U+FFFD.
func (t *BPE) DecodeBytes(ids []int32) []byte {
	out := make([]byte, 0, len(ids)*4)
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.tokBytes) && t.tokBytes[id] != nil {
			out = append(out, t.tokBytes[id]...)
		} else {
			out = utf8.AppendRune(out, utf8.RuneError)
		}
	}
	return out
}

// TokenBytes returns the bytes of token id (a shared slice that must not be
// modified) and whether id is in the vocabulary.
func (t *BPE) TokenBytes(id int32) ([]byte, bool) {
	if id < 0 || int(id) >= len(t.tokBytes) || t.tokBytes[id] == nil {
		return nil, false
	}
	return t.tokBytes[id], true
}

// Cache bounds: pieces longer than maxCachedWordLen bytes are never cached,
// and the cache is emptied when it reaches maxCacheEntries.
const (
	maxCachedWordLen = 64
	maxCacheEntries  = 1 << 16
)

// wordCache maps a pre-tokenised piece to its ids.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func (c *wordCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	v := append([]int32(nil), ids...)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCacheEntries {
		c.m = make(map[string][]int32, 1024)
	}
	c.m[strings.Clone(word)] = v // clone: word points into the caller's text
	c.mu.Unlock()
}

func (c *wordCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *wordCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
