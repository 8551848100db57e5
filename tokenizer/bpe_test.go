package tokenizer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestGPT2Basics(t *testing.T) {
	tok := loadGPT2(t)
	if got := tok.VocabSize(); got != 50257 {
		t.Errorf("VocabSize() = %d, want 50257", got)
	}
	if got := tok.EOT(); got != 50256 {
		t.Errorf("EOT() = %d, want 50256", got)
	}
	tests := []struct {
		text string
		ids  []int32
	}{
		{"", []int32{}},
		{"Hello world", []int32{15496, 995}},
		{"<|endoftext|>", []int32{50256}},
		{"a<|endoftext|>b", []int32{64, 50256, 65}},
		{"<|endoftext", []int32{27, 91, 437, 1659, 5239}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.text), func(t *testing.T) {
			got := tok.Encode(tc.text)
			if !slices.Equal(got, tc.ids) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.ids)
			}
			if back := tok.Decode(got); back != tc.text {
				t.Errorf("Decode(Encode(%q)) = %q", tc.text, back)
			}
		})
	}
	if b, ok := tok.TokenBytes(50256); !ok || string(b) != EndOfText {
		t.Errorf("TokenBytes(50256) = %q, %v", b, ok)
	}
	if _, ok := tok.TokenBytes(50257); ok {
		t.Error("TokenBytes(50257) reported a token")
	}
	if got := tok.Decode([]int32{15496, -1, 50257, 995}); got != "Hello\uFFFD\uFFFD world" {
		t.Errorf("Decode with out-of-range ids = %q", got)
	}
}

// checkIDs compares ids with want and reports the first difference with the
// surrounding token texts.
func checkIDs(t *testing.T, tok *BPE, label, text string, got, want []int32) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-3)
	ctx := func(ids []int32) string {
		var parts []string
		for _, id := range ids[lo:min(len(ids), i+4)] {
			b, _ := tok.TokenBytes(id)
			parts = append(parts, fmt.Sprintf("%d:%q", id, b))
		}
		return strings.Join(parts, " ")
	}
	t.Errorf("%s: Encode(%q): %d ids, want %d; first difference at %d\n got  %s\n want %s",
		label, short(text), len(got), len(want), i, ctx(got), ctx(want))
}

func TestGoldenEncode(t *testing.T) {
	tok := loadGPT2(t)
	for i, tc := range goldenCases(t) {
		got := tok.Encode(tc.Text)
		checkIDs(t, tok, fmt.Sprintf("case %d", i), tc.Text, got, tc.IDs)
		if back := tok.Decode(got); back != tc.Text {
			t.Errorf("case %d: Decode(Encode(%q)) = %q", i, short(tc.Text), short(back))
		}
	}
}

func TestGoldenDecode(t *testing.T) {
	tok := loadGPT2(t)
	var cases []goldenCase
	readGolden(t, "bpe_decode_golden.json", &cases)
	for i, tc := range cases {
		if got := tok.Decode(tc.IDs); got != tc.Text {
			t.Errorf("case %d: Decode(%v) = %q, want %q (bytes %q)", i, tc.IDs, got, tc.Text, tok.DecodeBytes(tc.IDs))
		}
	}
}

// TestGoldenShakespeareDigest encodes all of tinyshakespeare and compares
// the ids' SHA-256 with Python's.
func TestGoldenShakespeareDigest(t *testing.T) {
	tok := loadGPT2(t)
	text := readShakespeare(t)
	var want struct {
		FileSHA256 string  `json:"file_sha256"`
		NTokens    int     `json:"n_tokens"`
		IDsSHA256  string  `json:"ids_sha256"`
		FirstIDs   []int32 `json:"first_ids"`
	}
	readGolden(t, "bpe_digest_golden.json", &want)
	if h := sha256.Sum256([]byte(text)); hex.EncodeToString(h[:]) != want.FileSHA256 {
		t.Skipf("%s differs from the file the golden digest was made from", shakespearePath)
	}
	ids := tok.Encode(text)
	if !slices.Equal(ids[:min(len(ids), len(want.FirstIDs))], want.FirstIDs) {
		t.Errorf("first ids = %v, want %v", ids[:min(len(ids), len(want.FirstIDs))], want.FirstIDs)
	}
	buf := make([]byte, 4*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(buf[4*i:], uint32(id))
	}
	h := sha256.Sum256(buf)
	if len(ids) != want.NTokens || hex.EncodeToString(h[:]) != want.IDsSHA256 {
		t.Errorf("tinyshakespeare: %d tokens, ids sha256 %x; want %d tokens, %s", len(ids), h, want.NTokens, want.IDsSHA256)
	}
	if back := tok.Decode(ids); back != text {
		t.Error("Decode(Encode(tinyshakespeare)) differs from the text")
	}
}

func readShakespeare(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile(shakespearePath)
	if err != nil {
		tb.Skipf("tinyshakespeare not available: %v", err)
	}
	return string(data)
}

func TestRoundTripInvalidUTF8(t *testing.T) {
	tok := loadGPT2(t)
	for _, s := range []string{"\xff", "a\xe2\x82 b\xf0\x9f", "\xed\xa0\x80x", " \x80\x80\x80  \xc0"} {
		ids := tok.Encode(s)
		if got := string(tok.DecodeBytes(ids)); got != s {
			t.Errorf("DecodeBytes(Encode(%q)) = %q", s, got)
		}
	}
}

func TestEncodeLongWords(t *testing.T) {
	// Words longer than heapMergeThreshold use mergeHeap; check them
	// against mergeSimple on real merges.
	tok := loadGPT2(t)
	words := []string{
		strings.Repeat("a", 1000),
		strings.Repeat(" ", 77),
		strings.Repeat("ab", 301),
		strings.Repeat("hello", 40),
		strings.Repeat("😀", 50),
		"Pneumonoultramicroscopicsilicovolcanoconiosis" + strings.Repeat("Supercalifragilistic", 9),
		strings.Repeat("1234567890", 30),
	}
	for _, w := range words {
		syms := make([]int32, len(w))
		for i := range len(w) {
			syms[i] = tok.byteID[w[i]]
		}
		simple := tok.mergeSimple(slices.Clone(syms))
		heap := tok.mergeHeap(slices.Clone(syms))
		if !slices.Equal(simple, heap) {
			t.Errorf("%q: mergeHeap = %v, mergeSimple = %v", short(w), heap, simple)
		}
	}
}

// TestMergeHeapMatchesSimple compares the two merge algorithms on random
// words and random merge tables, including tables whose ranks are not
// consistent with the order symbols are built in.
func TestMergeHeapMatchesSimple(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		nBase := 2 + rng.IntN(3)
		syms := []string{}
		id := map[string]int32{}
		add := func(s string) int32 {
			if v, ok := id[s]; ok {
				return v
			}
			id[s] = int32(len(syms))
			syms = append(syms, s)
			return id[s]
		}
		for i := range nBase {
			add(string(rune('a' + i)))
		}
		type mr struct{ a, b, r int32 }
		var rules []mr
		for range 1 + rng.IntN(40) {
			a, b := rng.IntN(len(syms)), rng.IntN(len(syms))
			rules = append(rules, mr{int32(a), int32(b), add(syms[a] + syms[b])})
		}
		tok := &BPE{merges: map[uint64]mergeRule{}}
		for rank, p := range rng.Perm(len(rules)) {
			r := rules[p]
			tok.merges[pairKey(r.a, r.b)] = mergeRule{int32(rank), r.r}
		}
		for range 20 {
			word := make([]int32, 1+rng.IntN(120))
			for i := range word {
				word[i] = int32(rng.IntN(nBase))
			}
			simple := tok.mergeSimple(slices.Clone(word))
			heap := tok.mergeHeap(slices.Clone(word))
			if !slices.Equal(simple, heap) {
				t.Fatalf("trial %d: word %v: mergeHeap = %v, mergeSimple = %v", trial, word, heap, simple)
			}
		}
	}
}

func TestEncodeConcurrent(t *testing.T) {
	tok := loadGPT2(t)
	cases := goldenCases(t)
	tok.cache.reset()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range cases {
				tc := cases[(k+g*37)%len(cases)]
				if got := tok.Encode(tc.Text); !slices.Equal(got, tc.IDs) {
					errs <- fmt.Sprintf("goroutine %d: Encode(%q) mismatch", g, short(tc.Text))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestCacheBounded(t *testing.T) {
	tok := loadGPT2(t)
	tok.cache.reset()
	var sb strings.Builder
	for i := range maxCacheEntries + 1000 {
		sb.WriteString(" q") // " q" + i in base 26: distinct letter-only words
		for v := i; ; v /= 26 {
			sb.WriteByte(byte('a' + v%26))
			if v < 26 {
				break
			}
		}
	}
	tok.Encode(sb.String())
	// The cache must have been emptied once, on reaching the bound.
	if n := tok.cache.len(); n == 0 || n >= maxCacheEntries {
		t.Errorf("cache holds %d entries, want 1..%d", n, maxCacheEntries-1)
	}
	tok.cache.reset()
	long := " " + strings.Repeat("z", maxCachedWordLen+1)
	tok.Encode(long)
	if n := tok.cache.len(); n != 0 {
		t.Errorf("a %d-byte word was cached", len(long))
	}
}

// FuzzEncodeRoundTrip checks that any byte string survives Encode followed
// by DecodeBytes, and that Decode agrees with Python-style replacement.
func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "Hello world", "don't <|endoftext|> x", "\xff\xfe", "  \t\n  x", "😀😀 é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := loadGPT2(t)
		ids := tok.Encode(s)
		if got := string(tok.DecodeBytes(ids)); got != s {
			t.Fatalf("DecodeBytes(Encode(%q)) = %q", s, got)
		}
		if got, want := tok.Decode(ids), decodeReplace([]byte(s)); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	})
}
