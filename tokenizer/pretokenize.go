package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of GPT-2's pre-tokenisation pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// as evaluated by Python's third-party regex module on str input. The three
// named classes are disjoint, and Go's unicode.IsSpace, unicode.IsLetter and
// unicode.IsNumber agree with regex's \s, \p{L} and \p{N} on every code point
// (checked by TestUnicodeClassesGolden).
const (
	clsOther  uint8 = iota // [^\s\p{L}\p{N}]
	clsLetter              // \p{L}
	clsNumber              // \p{N}
	clsSpace               // \s
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = runeClass(rune(c))
	}
	return t
}()

func runeClass(r rune) uint8 {
	switch {
	case unicode.IsSpace(r):
		return clsSpace
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	}
	return clsOther
}

// classAt returns the class and byte width of the character at s[i]. A byte
// that does not start valid UTF-8 is one "other" character of width 1 (Python
// text cannot contain such bytes; treating them like U+FFFD, which is in
// class other, keeps them in the output unchanged).
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return clsOther, 1
	}
	return runeClass(r), w
}

// scanRun returns the end of the run of class cls starting at i.
func scanRun(s string, i int, cls uint8) int {
	for i < len(s) {
		c, w := classAt(s, i)
		if c != cls {
			break
		}
		i += w
	}
	return i
}

// contractionLen returns the length of the contraction suffix ("s", "t",
// "re", "ve", "m", "ll", "d") at the start of s, or 0.
func contractionLen(s string) int {
	if len(s) == 0 {
		return 0
	}
	switch s[0] {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) > 1 && s[1] == 'e' {
			return 2
		}
	case 'l':
		if len(s) > 1 && s[1] == 'l' {
			return 2
		}
	}
	return 0
}

// pretokenize splits s exactly like regex.findall(GPT-2 pattern, s) and
// calls emit with each piece, in order. The pieces are substrings of s whose
// concatenation is s.
//
// The alternatives are tried in pattern order at each position:
//
//  1. an apostrophe followed by s, t, re, ve, m, ll or d (case-sensitive);
//  2. an optional U+0020 followed by a maximal run of letters, numbers or
//     "other" characters (one class per run);
//  3. a whitespace run: taken whole when it ends the text, otherwise without
//     its last character (\s+(?!\S)), which is then matched on its own — as a
//     lone whitespace piece or, if it is a space, as the prefix of the next
//     word; a single whitespace character before non-space matches \s+.
func pretokenize(s string, emit func(string)) {
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		if c == '\'' {
			if l := contractionLen(s[i+1:]); l > 0 {
				emit(s[i : i+1+l])
				i += 1 + l
				continue
			}
		}
		if c == ' ' && i+1 < n {
			if nc, w := classAt(s, i+1); nc != clsSpace {
				j := scanRun(s, i+1+w, nc)
				emit(s[i:j])
				i = j
				continue
			}
		}
		cls, w := classAt(s, i)
		if cls != clsSpace {
			j := scanRun(s, i+w, cls)
			emit(s[i:j])
			i = j
			continue
		}
		// Whitespace run [i, j); last is the start of its final character.
		j, last := i+w, i
		for j < n {
			c2, w2 := classAt(s, j)
			if c2 != clsSpace {
				break
			}
			last = j
			j += w2
		}
		if j < n && last > i {
			j = last // \s+(?!\S): leave the final whitespace character
		}
		emit(s[i:j])
		i = j
	}
}
