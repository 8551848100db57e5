package data

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// llm.c's tokenised-data header: 256 little-endian int32s, of which the
// first three are the magic number, the format version and the token count.
const (
	// LLMCMagic is the magic number that starts an llm.c token file.
	LLMCMagic = 20240520
	// LLMCVersion is the llm.c format version read by Load (uint16 tokens).
	LLMCVersion = 1
	// LLMCHeaderInts is the number of int32s in an llm.c header.
	LLMCHeaderInts = 256
	llmcHeaderSize = 4 * LLMCHeaderInts
)

// loadBin reads a pre-tokenised file of little-endian uint16 ids, flat or
// behind an llm.c header, reading at most maxBytes bytes of token data when
// maxBytes > 0.
func loadBin(path string, vocab int, eot int32, maxBytes int64) ([]int32, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, pathErr(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, pathErr(path, err)
	}
	size := fi.Size()
	if size == 0 {
		return nil, 0, fmt.Errorf("data: %s: empty corpus (the .bin file is empty)", path)
	}

	start, dataBytes, err := binLayout(path, f, size)
	if err != nil {
		return nil, 0, err
	}
	if maxBytes > 0 && dataBytes > maxBytes {
		dataBytes = maxBytes &^ 1
	}
	n := dataBytes / 2
	if int64(int(n)) != n {
		return nil, 0, fmt.Errorf("data: %s: %d tokens do not fit in memory", path, n)
	}
	stream := make([]int32, n)
	r := io.NewSectionReader(f, start, dataBytes)
	buf := make([]byte, 1<<20)
	var pos int64 // tokens decoded so far
	for pos < n {
		m, err := io.ReadFull(r, buf[:min(int64(len(buf)), 2*(n-pos))])
		if err != nil {
			return nil, 0, fmt.Errorf("data: %s: reading token data at byte offset %d: %w", path, start+2*pos, err)
		}
		for i := 0; i < m; i += 2 {
			id := binary.LittleEndian.Uint16(buf[i:])
			if int(id) >= vocab {
				return nil, 0, fmt.Errorf("data: %s: token id %d at byte offset %d is outside the vocabulary (size %d)",
					path, id, start+2*pos+int64(i), vocab)
			}
			stream[pos+int64(i/2)] = int32(id)
		}
		pos += int64(m / 2)
	}
	return stream, countDocs(stream, eot), nil
}

// binLayout returns where the token data of a .bin file starts and how many
// bytes it has, reading and validating an llm.c header if there is one.
func binLayout(path string, f io.ReaderAt, size int64) (start, dataBytes int64, err error) {
	var magic [4]byte
	if size >= 4 {
		if _, err := f.ReadAt(magic[:], 0); err != nil {
			return 0, 0, fmt.Errorf("data: %s: reading header: %w", path, err)
		}
	}
	if size < 4 || int32(binary.LittleEndian.Uint32(magic[:])) != LLMCMagic {
		// nanoGPT: flat uint16 ids.
		if size%2 != 0 {
			return 0, 0, fmt.Errorf("data: %s: odd byte count %d: a .bin file of uint16 token ids must have an even size", path, size)
		}
		return 0, size, nil
	}
	if size < llmcHeaderSize {
		return 0, 0, fmt.Errorf("data: %s: bad llm.c header: file starts with magic %d but is only %d bytes, shorter than the %d-byte header",
			path, LLMCMagic, size, llmcHeaderSize)
	}
	var hdr [12]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, 0, fmt.Errorf("data: %s: reading llm.c header: %w", path, err)
	}
	version := int32(binary.LittleEndian.Uint32(hdr[4:]))
	count := int64(int32(binary.LittleEndian.Uint32(hdr[8:])))
	if version != LLMCVersion {
		return 0, 0, fmt.Errorf("data: %s: bad llm.c header: version %d, want %d (uint16 tokens)", path, version, LLMCVersion)
	}
	data := size - llmcHeaderSize
	if count < 0 || 2*count != data {
		return 0, 0, fmt.Errorf("data: %s: bad llm.c header: it declares %d tokens (%d bytes) but the file holds %d bytes after the %d-byte header",
			path, count, 2*count, data, llmcHeaderSize)
	}
	return llmcHeaderSize, data, nil
}

// countDocs counts the non-empty runs of ids between end-of-text ids; with
// no end-of-text id (eot < 0) a non-empty stream is one document.
func countDocs(ids []int32, eot int32) int {
	if len(ids) == 0 {
		return 0
	}
	if eot < 0 {
		return 1
	}
	docs := 0
	in := false
	for _, id := range ids {
		if id == eot {
			in = false
			continue
		}
		if !in {
			docs++
			in = true
		}
	}
	return docs
}

// WriteBin writes ids to path as a .bin file of little-endian uint16 ids,
// flat (nanoGPT) or, if llmc, behind an llm.c header. Every id must be in
// [0, 65535].
func WriteBin(path string, ids []int32, llmc bool) error {
	if llmc && int64(len(ids)) > int64(1<<31-1) {
		return fmt.Errorf("data: %s: %d tokens are too many for an llm.c header", path, len(ids))
	}
	var hdr []byte
	if llmc {
		hdr = make([]byte, llmcHeaderSize)
		binary.LittleEndian.PutUint32(hdr[0:], LLMCMagic)
		binary.LittleEndian.PutUint32(hdr[4:], LLMCVersion)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(len(ids)))
	}
	out := make([]byte, len(hdr)+2*len(ids))
	copy(out, hdr)
	for i, id := range ids {
		if id < 0 || id > 0xFFFF {
			return fmt.Errorf("data: %s: token id %d at index %d does not fit in uint16", path, id, i)
		}
		binary.LittleEndian.PutUint16(out[len(hdr)+2*i:], uint16(id))
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return pathErr(path, err)
	}
	return nil
}
