//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// haveExpAVX2 reports whether expAVX2 may run (GODEBUG=cpu.avx2=off or
// cpu.fma=off turns it off).
var haveExpAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expAVX2 sets dst[i] = e^src[i] for i < n, with n a multiple of 8, using the
// algorithm of expf eight lanes at a time (exp_amd64.s). dst may equal src.
//
//go:noescape
func expAVX2(dst, src *float32, n int)
