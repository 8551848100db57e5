// Package checkpoint makes a training run's checkpoints crash-consistent.
//
// A checkpoint is a directory of files that are written together and
// published at once. Begin creates it under a temporary name, Txn.Create
// writes and syncs each file (recording its size and CRC-32C), and Commit
// writes the manifest, syncs the directory and renames it to step-NNNNNNNN.
// Whatever moment the process dies or the disk fills, the parent directory
// holds only complete, published checkpoints, plus temporary leftovers that
// Clean removes; Latest returns the newest checkpoint whose files match its
// manifest, and Prune keeps the newest few. Published files are never
// written again, so they may be hard-linked elsewhere.
package checkpoint

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ManifestFile names, inside a checkpoint directory, the list of its other
// files with their sizes and checksums. It is written last.
const ManifestFile = "manifest.json"

const (
	stepPrefix = "step-"
	tmpPrefix  = ".tmp-step-"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileInfo describes one file of a checkpoint.
type FileInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
}

// Manifest is the content of manifest.json.
type Manifest struct {
	Step  int        `json:"step"`
	Files []FileInfo `json:"files"`
}

// Name returns the directory name of the checkpoint of a step.
func Name(step int) string { return fmt.Sprintf("%s%08d", stepPrefix, step) }

// Txn is a checkpoint being written.
type Txn struct {
	parent, dir string
	step        int
	files       []FileInfo
	done        bool
}

// Begin starts the checkpoint of a step under parent (created if needed).
func Begin(parent string, step int) (*Txn, error) {
	if step < 0 {
		return nil, fmt.Errorf("checkpoint: negative step %d", step)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("%s%08d-", tmpPrefix, step))
	if err != nil {
		return nil, err
	}
	return &Txn{parent: parent, dir: dir, step: step}, nil
}

// wrapWriter lets the tests make a write fail (a full disk) after some bytes.
var wrapWriter = func(w io.Writer) io.Writer { return w }

// Create writes the file name of the checkpoint with what fill writes, and
// syncs it. On error the transaction is aborted: its directory is removed.
func (x *Txn) Create(name string, fill func(w io.Writer) error) (err error) {
	if x.done {
		return errors.New("checkpoint: Create after Commit or Abort")
	}
	if name == ManifestFile || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("checkpoint: invalid file name %q", name)
	}
	defer func() {
		if err != nil {
			x.Abort()
		}
	}()
	path := filepath.Join(x.dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	cw := &counter{w: wrapWriter(f)}
	bw := bufio.NewWriterSize(io.MultiWriter(cw, h), 1<<20)
	if err := fill(bw); err != nil {
		return pathError("write", path, err)
	}
	if err := bw.Flush(); err != nil {
		return pathError("write", path, err)
	}
	if err := f.Sync(); err != nil {
		return pathError("sync", path, err)
	}
	if err := f.Close(); err != nil {
		return pathError("close", path, err)
	}
	x.files = append(x.files, FileInfo{Name: name, Size: cw.n, CRC32C: h.Sum32()})
	return nil
}

// Commit writes the manifest and publishes the checkpoint as
// parent/step-NNNNNNNN, replacing an older checkpoint of the same step. It
// returns the published directory. On error nothing is published and the
// temporary directory is removed.
func (x *Txn) Commit() (dir string, err error) {
	if x.done {
		return "", errors.New("checkpoint: Commit after Commit or Abort")
	}
	defer func() {
		if err != nil {
			x.Abort()
		}
	}()
	raw, err := json.MarshalIndent(Manifest{Step: x.step, Files: x.files}, "", " ")
	if err != nil {
		return "", err
	}
	if err := x.Create(ManifestFile+".part", func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
		return "", err
	}
	x.files = x.files[:len(x.files)-1]
	if err := os.Rename(filepath.Join(x.dir, ManifestFile+".part"), filepath.Join(x.dir, ManifestFile)); err != nil {
		return "", err
	}
	if err := syncDir(x.dir); err != nil {
		return "", err
	}
	dst := filepath.Join(x.parent, Name(x.step))
	if _, err := os.Stat(dst); err == nil {
		// A checkpoint of this step exists (a run resumed from before it
		// was written). Move it aside first: a rename cannot replace a
		// non-empty directory.
		old := filepath.Join(x.parent, fmt.Sprintf("%s%08d-old", tmpPrefix, x.step))
		os.RemoveAll(old)
		if err := os.Rename(dst, old); err != nil {
			return "", err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(x.dir, dst); err != nil {
		return "", err
	}
	x.done = true
	if err := syncDir(x.parent); err != nil {
		return dst, err
	}
	return dst, nil
}

// Abort removes the checkpoint being written. It is safe to call more than
// once and after Commit (then it does nothing).
func (x *Txn) Abort() {
	if x.done {
		return
	}
	x.done = true
	os.RemoveAll(x.dir)
}

// Dir is the temporary directory the checkpoint is written in.
func (x *Txn) Dir() string { return x.dir }

// Verify reads dir's manifest and checks every file it names against its
// size and CRC-32C.
func Verify(dir string) (Manifest, error) {
	var m Manifest
	path := filepath.Join(dir, ManifestFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	if want, ok := stepOf(filepath.Base(dir)); ok && want != m.Step {
		return m, fmt.Errorf("%s: step %d, but the directory is named for step %d", path, m.Step, want)
	}
	for _, fi := range m.Files {
		p := filepath.Join(dir, fi.Name)
		if fi.Name != filepath.Base(fi.Name) {
			return m, fmt.Errorf("%s: invalid file name %q", path, fi.Name)
		}
		f, err := os.Open(p)
		if err != nil {
			return m, err
		}
		h := crc32.New(castagnoli)
		n, err := io.Copy(h, f)
		f.Close()
		switch {
		case err != nil:
			return m, pathError("read", p, err)
		case n != fi.Size:
			return m, fmt.Errorf("%s: %d bytes, the manifest says %d (truncated?)", p, n, fi.Size)
		case h.Sum32() != fi.CRC32C:
			return m, fmt.Errorf("%s: checksum %08x, the manifest says %08x (corrupted)", p, h.Sum32(), fi.CRC32C)
		}
	}
	return m, nil
}

// List returns the published checkpoint directories under parent, newest
// (highest step) first. A missing parent has none.
func List(parent string) ([]string, error) {
	ents, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type ck struct {
		step int
		dir  string
	}
	var cks []ck
	for _, e := range ents {
		if s, ok := stepOf(e.Name()); ok && e.IsDir() {
			cks = append(cks, ck{s, filepath.Join(parent, e.Name())})
		}
	}
	slices.SortFunc(cks, func(a, b ck) int { return b.step - a.step })
	dirs := make([]string, len(cks))
	for i, c := range cks {
		dirs[i] = c.dir
	}
	return dirs, nil
}

// Latest returns the newest checkpoint under parent that Verify accepts, and
// the reasons the newer ones were passed over. It fails with an error
// wrapping fs.ErrNotExist when parent holds no published checkpoint.
func Latest(parent string) (dir string, m Manifest, skipped []error, err error) {
	dirs, err := List(parent)
	if err != nil {
		return "", m, nil, err
	}
	if len(dirs) == 0 {
		return "", m, nil, fmt.Errorf("%s: no checkpoint: %w", parent, fs.ErrNotExist)
	}
	for _, d := range dirs {
		m, err := Verify(d)
		if err == nil {
			return d, m, skipped, nil
		}
		skipped = append(skipped, err)
	}
	return "", m, skipped, fmt.Errorf("%s: no complete checkpoint: %w", parent, errors.Join(skipped...))
}

// Prune removes all but the newest keep published checkpoints under parent
// (keep < 1 keeps one).
func Prune(parent string, keep int) error {
	dirs, err := List(parent)
	if err != nil {
		return err
	}
	keep = max(keep, 1)
	var errs []error
	for _, d := range dirs[min(keep, len(dirs)):] {
		errs = append(errs, os.RemoveAll(d))
	}
	return errors.Join(errs...)
}

// Clean removes the temporary directories that interrupted transactions left
// under parent. Call it only while no other writer can be running (under the
// run's Lock).
func Clean(parent string) error {
	ents, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			errs = append(errs, os.RemoveAll(filepath.Join(parent, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// stepOf parses a published checkpoint's directory name.
func stepOf(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, stepPrefix)
	if !ok || len(s) < 8 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// syncDir makes the entries of dir (creations, renames) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return pathError("sync", dir, err)
	}
	return nil
}

// pathError names path in err unless err already does.
func pathError(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) || strings.Contains(err.Error(), path) {
		return err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
