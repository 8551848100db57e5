package tokenizer

import "unicode/utf8"

// decodeReplace converts b to a string the way CPython's
// b.decode("utf-8", errors="replace") does: each maximal subpart of an
// ill-formed sequence (Unicode "best practice", as implemented by CPython)
// becomes a single U+FFFD.
func decodeReplace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, w := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || w > 1 {
			out = append(out, b[i:i+w]...)
			i += w
			continue
		}
		out = utf8.AppendRune(out, utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return string(out)
}

// maximalSubpart returns the length (>= 1) of the longest prefix of b that is
// a prefix of some well-formed UTF-8 sequence, given that b does not start
// with a complete well-formed sequence.
func maximalSubpart(b []byte) int {
	c := b[0]
	var lo, hi byte = 0x80, 0xBF // allowed range of the second byte
	need := 0                    // continuation bytes a complete sequence has
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 1; k <= need && k < len(b); k++ {
		x := b[k]
		if k == 1 {
			if x < lo || x > hi {
				break
			}
		} else if x < 0x80 || x > 0xBF {
			break
		}
		n++
	}
	if n > need { // cannot happen: the sequence would be well-formed
		n = need
	}
	return n
}
