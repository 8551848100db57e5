//go:build mpi

package mpi

/*
#cgo !mpich pkg-config: ompi-c
#cgo mpich pkg-config: mpich
#include <stdlib.h>
#include <mpi.h>

// MPI's handles (MPI_COMM_WORLD, MPI_IN_PLACE, ...) are macros that cgo
// cannot always use, so each call is a small C function.

static int duo_init(int *rank, int *size, int *local, int *localSize) {
	int provided, rc;
	// FUNNELED: only the thread that initialised MPI calls it.
	if ((rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided))) return rc;
	if ((rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN))) return rc;
	if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, rank))) return rc;
	if ((rc = MPI_Comm_size(MPI_COMM_WORLD, size))) return rc;
	MPI_Comm node;
	if ((rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node))) return rc;
	if ((rc = MPI_Comm_rank(node, local))) return rc;
	if ((rc = MPI_Comm_size(node, localSize))) return rc;
	return MPI_Comm_free(&node);
}

static int duo_allreduce_f32(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

static int duo_reduce_f64(double *buf, int n, int rank) {
	if (rank == 0) return MPI_Reduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
	return MPI_Reduce(buf, NULL, n, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
}

static int duo_bcast(void *buf, int n) { return MPI_Bcast(buf, n, MPI_BYTE, 0, MPI_COMM_WORLD); }
static int duo_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static void duo_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static int duo_finalize(void) { return MPI_Finalize(); }

static void duo_error_string(int rc, char *buf) {
	int n = 0;
	if (MPI_Error_string(rc, buf, &n) != MPI_SUCCESS) n = 0;
	buf[n] = 0;
}

static void duo_library(char *buf) {
	int n = 0;
	if (MPI_Get_library_version(buf, &n) != MPI_SUCCESS) n = 0;
	buf[n] = 0;
}

static int duo_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static int duo_max_library(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Built reports whether the binary was built with MPI (-tags mpi).
const Built = true

// impl owns the goroutine that makes every MPI call.
type impl struct {
	calls chan func()
	rank  int
	size  int
}

// Init joins the MPI job (MPI_Init_thread) on its first call and returns
// the same World (or error) on every later one. A binary started without a
// launcher is a job of one rank.
func Init() (*World, error) {
	once.Do(func() { world, initErr = initialise() })
	return world, initErr
}

var (
	once    sync.Once
	world   *World
	initErr error
)

func initialise() (*World, error) {
	m := &impl{calls: make(chan func())}
	var rank, size, local, localSize C.int
	started := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: this thread is MPI's
		if rc := C.duo_init(&rank, &size, &local, &localSize); rc != 0 {
			started <- fmt.Errorf("MPI_Init_thread: %s", errorString(rc))
			return
		}
		started <- nil
		for fn := range m.calls {
			fn()
		}
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	m.rank, m.size = int(rank), int(size)
	w := &World{rank: m.rank, size: m.size, localRank: int(local), localSize: int(localSize), library: m.library()}
	if w.size > 1 {
		w.impl = m
	}
	return w, nil
}

// do runs fn on MPI's thread and turns its return code into an error.
func (m *impl) do(what string, fn func() C.int) error {
	done := make(chan C.int)
	m.calls <- func() { done <- fn() }
	if rc := <-done; rc != 0 {
		return fmt.Errorf("rank %d of %d: %s: %s", m.rank, m.size, what, errorString(rc))
	}
	return nil
}

func errorString(rc C.int) string {
	buf := (*C.char)(C.malloc(C.size_t(C.duo_max_error_string() + 1)))
	defer C.free(unsafe.Pointer(buf))
	C.duo_error_string(rc, buf)
	return fmt.Sprintf("%s (error %d)", C.GoString(buf), int(rc))
}

func (m *impl) library() string {
	var s string
	m.do("MPI_Get_library_version", func() C.int {
		buf := (*C.char)(C.malloc(C.size_t(C.duo_max_library() + 1)))
		defer C.free(unsafe.Pointer(buf))
		C.duo_library(buf)
		s = C.GoString(buf)
		return 0
	})
	s, _, _ = strings.Cut(s, ",") // "Open MPI v4.1.4, package: ..."
	return strings.TrimSpace(strings.SplitN(s, "\n", 2)[0])
}

// allreduce32 sums x (at most maxCount elements) over the ranks in place
// (MPI_Allreduce).
func (m *impl) allreduce32(x []float32) error {
	p := (*C.float)(unsafe.Pointer(&x[0]))
	return m.do("MPI_Allreduce", func() C.int { return C.duo_allreduce_f32(p, C.int(len(x))) })
}

func (m *impl) allreduce64(x []float64) error {
	p := (*C.double)(unsafe.Pointer(&x[0]))
	if err := m.do("MPI_Reduce", func() C.int { return C.duo_reduce_f64(p, C.int(len(x)), C.int(m.rank)) }); err != nil {
		return err
	}
	return m.broadcast(unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 8*len(x)))
}

// broadcast sends rank 0's b to the others, in pieces of maxCount bytes
// (allreduce64 gives it 8 bytes per element).
func (m *impl) broadcast(b []byte) error {
	return chunked(b, func(b []byte) error {
		p := unsafe.Pointer(&b[0])
		return m.do("MPI_Bcast", func() C.int { return C.duo_bcast(p, C.int(len(b))) })
	})
}

func (m *impl) barrier() error {
	return m.do("MPI_Barrier", func() C.int { return C.duo_barrier() })
}

func (m *impl) abort(code int) {
	m.do("MPI_Abort", func() C.int { C.duo_abort(C.int(code)); return 0 })
}

func (m *impl) finalize() error {
	return m.do("MPI_Finalize", func() C.int { return C.duo_finalize() })
}
