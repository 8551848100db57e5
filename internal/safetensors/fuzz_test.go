package safetensors

import (
	"bytes"
	"encoding/binary"
	"maps"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// re-encodes and re-parses to the same tensors and metadata.
func FuzzParse(f *testing.F) {
	valid := encode(f, testTensors(), map[string]string{"k": "v"})
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:20])
	f.Add(encode(f, nil, nil))
	f.Add(raw(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[2,6]},"b":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}  `, make([]byte, 8)))
	f.Add(raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add(raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(raw(`{"__metadata__":{"k":1}}`, nil))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 1<<62), "{}"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			return
		}
		for _, x := range a.Tensors {
			x.Float32s() // must not panic either
			x.Int64s()
		}
		var buf bytes.Buffer
		if err := Encode(&buf, a.Tensors, a.Metadata); err != nil {
			t.Fatalf("Encode of a parsed file: %v", err)
		}
		b, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-Parse: %v", err)
		}
		sameTensors(t, b.Tensors, a.Tensors)
		if !maps.Equal(a.Metadata, b.Metadata) {
			t.Fatalf("metadata %v != %v", b.Metadata, a.Metadata)
		}
	})
}
