package safetensors

import (
	"bytes"
	"path/filepath"
	"testing"
)

// After DontNeed the tensors of a mapped file still read the same.
func TestDontNeed(t *testing.T) {
	big := make([]float32, 5000) // spans pages
	for i := range big {
		big[i] = float32(i)
	}
	ts := append(testTensors(), NewF32("big", []int{len(big)}, big))
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := make([][]byte, len(f.Tensors))
	for i := range f.Tensors {
		before[i] = bytes.Clone(f.Tensors[i].Data)
		f.DontNeed(&f.Tensors[i])
	}
	f.DontNeed(&Tensor{Data: make([]byte, 8)}) // not in the mapping: ignored
	for i := range f.Tensors {
		if !bytes.Equal(f.Tensors[i].Data, before[i]) {
			t.Errorf("%s changed after DontNeed", f.Tensors[i].Name)
		}
	}
	p, err := Parse(encode(t, ts, nil))
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Tensors { // a parsed file: no-op
		b := bytes.Clone(p.Tensors[i].Data)
		p.DontNeed(&p.Tensors[i])
		if !bytes.Equal(p.Tensors[i].Data, b) {
			t.Errorf("DontNeed changed %s of a parsed file", p.Tensors[i].Name)
		}
	}
}
