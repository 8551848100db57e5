package tokenizer

import "unicode/utf8"

// Bytes is the byte-level tokenizer: every byte of the UTF-8 text is one
// token whose id is the byte value. Its vocabulary has exactly 256 ids and no
// end-of-text token ([Bytes.EOT] returns -1), so packed documents are simply
// concatenated. The zero value is ready to use.
type Bytes struct{}

var _ Tokenizer = Bytes{}

// Encode returns the bytes of text as ids in [0, 256).
func (Bytes) Encode(text string) []int32 {
	ids := make([]int32, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int32(text[i])
	}
	return ids
}

// Decode turns ids back into text. Ids outside [0, 256) become U+FFFD, and
// invalid UTF-8 is replaced as by Python's errors="replace".
func (b Bytes) Decode(ids []int32) string {
	return decodeReplace(b.DecodeBytes(ids))
}

// DecodeBytes returns the raw bytes of ids without any UTF-8 repair (useful
// when streaming tokens that may split a multi-byte character). Ids outside
// [0, 256) contribute the UTF-8 encoding of U+FFFD.
func (Bytes) DecodeBytes(ids []int32) []byte {
	out := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id > 255 {
			out = utf8.AppendRune(out, utf8.RuneError)
			continue
		}
		out = append(out, byte(id))
	}
	return out
}

// VocabSize returns 256.
func (Bytes) VocabSize() int { return 256 }

// EOT returns -1: the byte tokenizer has no end-of-text token.
func (Bytes) EOT() int32 { return -1 }
