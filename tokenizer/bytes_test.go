package tokenizer

import (
	"slices"
	"testing"
)

func TestBytes(t *testing.T) {
	var tok Tokenizer = Bytes{}
	if got := tok.VocabSize(); got != 256 {
		t.Errorf("VocabSize() = %d, want 256", got)
	}
	if got := tok.EOT(); got != -1 {
		t.Errorf("EOT() = %d, want -1", got)
	}
	tests := []struct {
		name string
		text string
		ids  []int32
	}{
		{"empty", "", []int32{}},
		{"ascii", "Hi!", []int32{72, 105, 33}},
		{"nul and high bytes", "\x00\x7f\x80\xff", []int32{0, 127, 128, 255}},
		{"multibyte", "é€", []int32{0xc3, 0xa9, 0xe2, 0x82, 0xac}},
		{"endoftext is plain text", "<|", []int32{'<', '|'}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tok.Encode(tc.text)
			if !slices.Equal(got, tc.ids) {
				t.Fatalf("Encode(%q) = %v, want %v", tc.text, got, tc.ids)
			}
			if back := string(Bytes{}.DecodeBytes(got)); back != tc.text {
				t.Errorf("DecodeBytes(Encode(%q)) = %q", tc.text, back)
			}
		})
	}
}

func TestBytesDecode(t *testing.T) {
	tests := []struct {
		name string
		ids  []int32
		want string
	}{
		{"empty", nil, ""},
		{"valid", []int32{'o', 'k', 0xc3, 0xa9}, "oké"},
		{"truncated sequence is one replacement", []int32{'a', 0xe2, 0x82, 'b'}, "a\uFFFDb"},
		{"each stray byte is one replacement", []int32{0xff, 0xfe}, "\uFFFD\uFFFD"},
		{"surrogate encoding", []int32{0xed, 0xa0, 0x80}, "\uFFFD\uFFFD\uFFFD"},
		{"ids out of range", []int32{'x', 256, -1, 'y'}, "x\uFFFD\uFFFDy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Bytes{}).Decode(tc.ids); got != tc.want {
				t.Errorf("Decode(%v) = %q, want %q", tc.ids, got, tc.want)
			}
		})
	}
}

func TestLoadSpec(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "notes.txt", "hello")
	tests := []struct {
		name    string
		spec    string
		wantErr string // substring; "" means success
	}{
		{"bytes", "bytes", ""},
		{"empty", "", "empty tokenizer spec"},
		{"missing path", dir + "/nope", "nope"},
		{"plain file", dir + "/notes.txt", "notes.txt"},
		{"empty dir", dir, "no BPE files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Load(tc.spec)
			if tc.wantErr == "" {
				if err != nil || tok == nil {
					t.Fatalf("Load(%q) = %v, %v", tc.spec, tok, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load(%q) succeeded, want error containing %q", tc.spec, tc.wantErr)
			}
			if tok != nil {
				t.Errorf("Load(%q) returned a non-nil Tokenizer %#v with its error", tc.spec, tok)
			}
			assertContains(t, err.Error(), tc.wantErr)
		})
	}
	if tok, _ := Load("bytes"); tok != (Bytes{}) {
		t.Errorf(`Load("bytes") = %#v, want Bytes{}`, tok)
	}
}
