package tokenizer

import "testing"

// BenchmarkEncodeShakespeare encodes all of tinyshakespeare (1.1 MB) with a
// warm word cache, the steady state when tokenising a corpus.
func BenchmarkEncodeShakespeare(b *testing.B) {
	tok := loadGPT2(b)
	text := readShakespeare(b)
	tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text)
	}
}

// BenchmarkEncodeShakespeareCold empties the word cache before every pass,
// so each distinct word is merged again.
func BenchmarkEncodeShakespeareCold(b *testing.B) {
	tok := loadGPT2(b)
	text := readShakespeare(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.cache.reset()
		tok.Encode(text)
	}
}

// BenchmarkDecodeShakespeare decodes the ids of all of tinyshakespeare.
func BenchmarkDecodeShakespeare(b *testing.B) {
	tok := loadGPT2(b)
	text := readShakespeare(b)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Decode(ids)
	}
}

// BenchmarkLoadGPT2 measures loading encoder.json and vocab.bpe.
func BenchmarkLoadGPT2(b *testing.B) {
	loadGPT2(b)
	for b.Loop() {
		if _, err := LoadBPE(gpt2Dir); err != nil {
			b.Fatal(err)
		}
	}
}
