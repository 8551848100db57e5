package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func pieces(s string) []string {
	var out []string
	pretokenize(s, func(p string) { out = append(out, p) })
	return out
}

func TestPretokenize(t *testing.T) {
	// Expected values are regex.findall(GPT-2 pattern, text) from Python.
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"  hello", []string{" ", " hello"}},
		{"hello  ", []string{"hello", "  "}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"don't", []string{"don", "'t"}},
		{"DON'T", []string{"DON", "'", "T"}},
		{" 's", []string{" '", "s"}},
		{"it's'll", []string{"it", "'s", "'ll"}},
		{"'''s", []string{"'''", "s"}},
		{" ' ", []string{" '", " "}},
		{"abc123def", []string{"abc", "123", "def"}},
		{" 123", []string{" 123"}},
		{"!!!abc", []string{"!!!", "abc"}},
		{"x \t y", []string{"x", " \t", " y"}},
		{"a  b", []string{"a", " ", " b"}},
		{"x\n", []string{"x", "\n"}},
		{"\n x", []string{"\n", " x"}},
		{"\u00a0hello", []string{"\u00a0", "hello"}},
		{"\u3000\u3000a", []string{"\u3000", "\u3000", "a"}},
		{"e\u0301t\u00e9", []string{"e", "\u0301", "t\u00e9"}},
		{"٣٤5x", []string{"٣٤5", "x"}},
		{"\u200bz", []string{"\u200b", "z"}},
		// Not valid UTF-8: stray bytes are "other" characters and kept.
		{"a\xffb", []string{"a", "\xff", "b"}},
		{" \xff\xfe!c", []string{" \xff\xfe!", "c"}},
		{"\xe2\x82 x", []string{"\xe2\x82", " x"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.text), func(t *testing.T) {
			got := pieces(tc.text)
			if !slices.Equal(got, tc.want) {
				t.Errorf("pretokenize(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestPretokenizeGolden(t *testing.T) {
	var cases []struct {
		Text   string   `json:"text"`
		Pieces []string `json:"pieces"`
	}
	readGolden(t, "bpe_pretok_golden.json", &cases)
	for i, tc := range cases {
		got := pieces(tc.Text)
		if len(got) == 0 {
			got = []string{}
		}
		if !slices.Equal(got, tc.Pieces) {
			t.Errorf("case %d: pretokenize(%q)\n got  %q\n want %q", i, short(tc.Text), got, tc.Pieces)
		}
		if strings.Join(got, "") != tc.Text {
			t.Errorf("case %d: pieces do not concatenate to the text", i)
		}
	}
}

// TestUnicodeClassesGolden checks that Go's unicode tables classify every
// code point like Python regex's \s, \p{L} and \p{N}. If a Go release moves
// to a newer Unicode version than the regex module that made the golden
// file, this reports the code points whose class differs.
func TestUnicodeClassesGolden(t *testing.T) {
	var ranges [][3]any
	readGolden(t, "bpe_unicode_classes.json", &ranges)
	want := make([]uint8, unicode.MaxRune+1) // clsOther is 0
	for _, r := range ranges {
		lo, hi, k := rune(r[0].(float64)), rune(r[1].(float64)), r[2].(string)
		cls := map[string]uint8{"S": clsSpace, "L": clsLetter, "N": clsNumber}[k]
		for c := lo; c <= hi; c++ {
			want[c] = cls
		}
	}
	bad := 0
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if c >= 0xD800 && c <= 0xDFFF {
			continue
		}
		if got := runeClass(c); got != want[c] {
			if bad++; bad <= 20 {
				t.Errorf("U+%04X: Go class %d, Python regex class %d (Go unicode.Version %s)", c, got, want[c], unicode.Version)
			}
		}
	}
	if bad > 20 {
		t.Errorf("... %d code points differ in total", bad)
	}
}
