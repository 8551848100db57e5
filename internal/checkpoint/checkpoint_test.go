package checkpoint

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// write publishes a checkpoint of step with the given files.
func write(t *testing.T, parent string, step int, files map[string]string) string {
	t.Helper()
	x, err := Begin(parent, step)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := x.Create(name, func(w io.Writer) error { _, err := io.WriteString(w, body); return err }); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := x.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCommitLatestPrune(t *testing.T) {
	parent := t.TempDir()
	for step := 1; step <= 4; step++ {
		write(t, parent, step, map[string]string{"a": strings.Repeat("x", step), "b": "y"})
	}
	dir, m, skipped, err := Latest(parent)
	if err != nil || len(skipped) != 0 {
		t.Fatal(err, skipped)
	}
	if filepath.Base(dir) != "step-00000004" || m.Step != 4 || len(m.Files) != 2 {
		t.Fatalf("latest %s, manifest %+v", dir, m)
	}
	// A corrupted newest checkpoint is passed over, with the reason.
	os.WriteFile(filepath.Join(dir, "a"), []byte("xxxz"), 0o644)
	dir, m, skipped, err = Latest(parent)
	if err != nil || m.Step != 3 || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "corrupted") {
		t.Fatalf("after corruption: %s step %d, skipped %v, err %v", dir, m.Step, skipped, err)
	}
	// So is a truncated one, and one without a manifest.
	os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644)
	os.Remove(filepath.Join(parent, Name(2), ManifestFile))
	if _, m, skipped, err = Latest(parent); err != nil || m.Step != 1 || len(skipped) != 3 || !strings.Contains(skipped[1].Error(), "truncated") {
		t.Fatalf("step %d, skipped %v, err %v", m.Step, skipped, err)
	}
	if err := Prune(parent, 2); err != nil {
		t.Fatal(err)
	}
	dirs, _ := List(parent)
	if len(dirs) != 2 || filepath.Base(dirs[0]) != Name(4) || filepath.Base(dirs[1]) != Name(3) {
		t.Fatalf("after Prune(2): %v", dirs)
	}
	if _, _, _, err := Latest(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty parent: %v", err)
	}
}

// A checkpoint of a step that exists already replaces it.
func TestCommitReplacesSameStep(t *testing.T) {
	parent := t.TempDir()
	write(t, parent, 7, map[string]string{"a": "old"})
	dir := write(t, parent, 7, map[string]string{"a": "new"})
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "new" {
		t.Fatalf("got %q", b)
	}
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

// A full disk mid-write fails with ENOSPC named, removes the partial
// checkpoint and leaves the previous one the latest.
func TestFullDisk(t *testing.T) {
	parent := t.TempDir()
	write(t, parent, 1, map[string]string{"a": "complete"})
	defer func(w func(io.Writer) io.Writer) { wrapWriter = w }(wrapWriter)
	wrapWriter = func(w io.Writer) io.Writer { return &fullDisk{w: w, left: 3} }
	x, err := Begin(parent, 2)
	if err != nil {
		t.Fatal(err)
	}
	err = x.Create("a", func(w io.Writer) error { _, err := io.WriteString(w, "longer than three bytes"); return err })
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), x.Dir()) {
		t.Fatalf("error %v: want ENOSPC naming the file", err)
	}
	if _, err := os.Stat(x.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("partial checkpoint left: %v", err)
	}
	if _, err := x.Commit(); err == nil {
		t.Fatal("Commit after a failed Create succeeded")
	}
	if _, m, _, err := Latest(parent); err != nil || m.Step != 1 {
		t.Fatalf("latest step %d, %v", m.Step, err)
	}
}

// Clean removes what interrupted transactions left, and nothing else.
func TestClean(t *testing.T) {
	parent := t.TempDir()
	write(t, parent, 1, map[string]string{"a": "x"})
	x, _ := Begin(parent, 2)
	x.Create("a", func(w io.Writer) error { return nil }) // never committed: a killed writer
	if err := Clean(parent); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 || ents[0].Name() != Name(1) {
		t.Fatalf("after Clean: %v", ents)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another training run") || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("second lock: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Release()
}

// fullDisk accepts `left` bytes, then fails as a full filesystem does.
type fullDisk struct {
	w    io.Writer
	left int
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, &fs.PathError{Op: "write", Path: f.w.(*os.File).Name(), Err: syscall.ENOSPC}
	}
	f.left -= len(p)
	return f.w.Write(p)
}
