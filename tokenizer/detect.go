package tokenizer

import (
	"os"
	"path/filepath"
)

// HasBPEFiles reports whether dir holds a complete set of the files
// [LoadBPE] reads: encoder.json and vocab.bpe, vocab.json and merges.txt,
// or tokenizer.json.
func HasBPEFiles(dir string) bool {
	exists := func(name string) bool {
		fi, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !fi.IsDir()
	}
	return (exists(OpenAIEncoderFile) && exists(OpenAIMergesFile)) ||
		(exists(HFVocabFile) && exists(HFMergesFile)) || exists(HFTokenizerFile)
}
