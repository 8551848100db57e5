package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// maxHeader bounds the JSON header so a corrupt length cannot make us buffer
// gigabytes; real headers are a few hundred KiB at most.
const maxHeader = 100 << 20

// Parse decodes and fully validates a safetensors file held in data. The
// returned tensors' Data slices alias data.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeader {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, maxHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file", n, len(data))
	}
	header, body := data[8:8+n], data[8+n:]
	if !utf8.Valid(header) {
		return nil, errors.New("safetensors: header: not valid UTF-8")
	}
	entries, err := members(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %v", err)
	}

	f := &File{}
	var ps []placed
	for _, e := range entries {
		if e.key == "__metadata__" {
			if f.Metadata, err = parseMetadata(e.val); err != nil {
				return nil, fmt.Errorf("safetensors: __metadata__: %v", err)
			}
			continue
		}
		p, err := parseEntry(e.val, len(body))
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %v", e.key, err)
		}
		p.Name = e.key
		p.Data = body[p.begin:p.end:p.end]
		ps = append(ps, p)
	}

	// Sort by data offset (name breaks ties between empty tensors) and
	// reject overlaps. Gaps are allowed.
	slices.SortFunc(ps, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), cmp.Compare(a.Name, b.Name))
	})
	f.Tensors = make([]Tensor, len(ps))
	for i, p := range ps {
		if i > 0 && p.begin < ps[i-1].end {
			q := ps[i-1]
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] overlap tensor %q at [%d, %d]",
				p.Name, p.begin, p.end, q.Name, q.begin, q.end)
		}
		f.Tensors[i] = p.Tensor
	}
	return f, nil
}

// placed is a tensor with its data_offsets.
type placed struct {
	Tensor
	begin, end int
}

// parseEntry validates one tensor's header entry against a data section of
// dataLen bytes and returns the tensor, without Name and Data, and its span.
func parseEntry(raw json.RawMessage, dataLen int) (placed, error) {
	var t placed
	fields, err := members(raw)
	if err != nil {
		return t, fmt.Errorf("entry: %v", err)
	}
	var dtype string
	var offsets []int
	got := map[string]bool{}
	for _, fd := range fields {
		switch fd.key {
		case "dtype":
			if fd.val[0] != '"' || json.Unmarshal(fd.val, &dtype) != nil {
				return t, fmt.Errorf("dtype %s is not a string", fd.val)
			}
		case "shape":
			if fd.val[0] != '[' || json.Unmarshal(fd.val, &t.Shape) != nil {
				return t, fmt.Errorf("shape %s is not an array of integers", fd.val)
			}
		case "data_offsets":
			if fd.val[0] != '[' || json.Unmarshal(fd.val, &offsets) != nil {
				return t, fmt.Errorf("data_offsets %s is not an array of integers", fd.val)
			}
		default:
			return t, fmt.Errorf("unknown field %q", fd.key)
		}
		got[fd.key] = true
	}
	for _, k := range []string{"dtype", "shape", "data_offsets"} {
		if !got[k] {
			return t, fmt.Errorf("missing %s", k)
		}
	}
	t.DType = DType(dtype)
	size := t.DType.Size()
	if size == 0 {
		return t, fmt.Errorf("unknown dtype %q", dtype)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return t, fmt.Errorf("negative dim in shape %v", t.Shape)
		}
	}
	n, ok := numElements(t.Shape)
	if !ok || n > math.MaxInt/size {
		return t, fmt.Errorf("shape %v: element count overflows", t.Shape)
	}
	if len(offsets) != 2 || offsets[0] < 0 || offsets[0] > offsets[1] {
		return t, fmt.Errorf("data_offsets %v is not [begin, end] with 0 <= begin <= end", offsets)
	}
	if offsets[1] > dataLen {
		return t, fmt.Errorf("data_offsets %v end beyond the %d-byte data section", offsets, dataLen)
	}
	if offsets[1]-offsets[0] != n*size {
		return t, fmt.Errorf("data_offsets %v span %d bytes, want %d (%s x %v)", offsets, offsets[1]-offsets[0], n*size, t.DType, t.Shape)
	}
	t.begin, t.end = offsets[0], offsets[1]
	return t, nil
}

// parseMetadata decodes the __metadata__ object, whose values must be strings.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	fields, err := members(raw)
	if err != nil {
		return nil, err
	}
	meta := make(map[string]string, len(fields))
	for _, fd := range fields {
		var s string
		if fd.val[0] != '"' || json.Unmarshal(fd.val, &s) != nil {
			return nil, fmt.Errorf("value of %q is %s, not a string", fd.key, fd.val)
		}
		meta[fd.key] = s
	}
	return meta, nil
}

// member is one key/value pair of a JSON object.
type member struct {
	key string
	val json.RawMessage // never empty
}

// members splits the JSON object in raw into its members, in order. It walks
// tokens rather than using json.Unmarshal, which silently keeps the last of
// duplicate keys; here duplicates are an error.
func members(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		key, _ := tok.(string) // inside an object, Token yields keys as strings
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("malformed JSON at key %q: %v", key, noEOF(err))
		}
		ms = append(ms, member{key, val})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON: trailing data after the object")
	}
	return ms, nil
}

// noEOF turns a bare io.EOF into io.ErrUnexpectedEOF for clearer messages.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
