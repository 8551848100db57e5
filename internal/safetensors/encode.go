package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/duo-go/duo/internal/atomicfile"
)

// entry is one tensor's header entry as written.
type entry struct {
	DType   DType  `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// Encode writes tensors and meta (omitted when empty) as a safetensors file:
// header keys sorted, the header padded with spaces to a multiple of 8 bytes,
// tensor data contiguous in the given order.
func Encode(w io.Writer, tensors []Tensor, meta map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	off := 0
	for i := range tensors {
		t := &tensors[i]
		switch {
		case !utf8.ValidString(t.Name):
			return fmt.Errorf("safetensors: tensor %q: name is not valid UTF-8", t.Name)
		case t.Name == "__metadata__":
			return errors.New("safetensors: tensor name __metadata__ is reserved")
		case header[t.Name] != nil:
			return fmt.Errorf("safetensors: tensor %q: duplicate name", t.Name)
		}
		if err := t.check(); err != nil {
			return err
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar: "shape": [], not null
		}
		header[t.Name] = entry{t.DType, shape, [2]int{off, off + len(t.Data)}}
		off += len(t.Data)
	}
	if len(meta) > 0 {
		for k, v := range meta {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return fmt.Errorf("safetensors: __metadata__: %q: %q is not valid UTF-8", k, v)
			}
		}
		header["__metadata__"] = meta
	}
	js, err := json.Marshal(header) // sorts map keys
	if err != nil {
		return fmt.Errorf("safetensors: %v", err)
	}
	n := (len(js) + 7) &^ 7
	buf := make([]byte, 8, 8+n)
	binary.LittleEndian.PutUint64(buf, uint64(n))
	buf = append(buf, js...)
	for len(buf) < 8+n {
		buf = append(buf, ' ')
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile atomically writes a safetensors file to path: it encodes into a
// temporary file in the same directory, syncs it and renames it over path.
// On error no file, temporary or partial, is left behind.
func WriteFile(path string, tensors []Tensor, meta map[string]string) error {
	return atomicfile.Write(path, func(w *bufio.Writer) error {
		if err := Encode(w, tensors, meta); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
}
