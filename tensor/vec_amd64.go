//go:build amd64 && !purego

package tensor

import syscpu "golang.org/x/sys/cpu"

// haveAVX2 reports whether the AVX2/FMA kernels of vec_amd64.s may run
// (GODEBUG=cpu.avx2=off or cpu.fma=off turns them off). It is a variable so
// that tests can compare them with the Go loops.
var haveAVX2 = syscpu.X86.HasAVX2 && syscpu.X86.HasFMA

// haveAVX512 reports whether the AVX-512 kernels of vec_amd64.s may run
// (with haveAVX2; GODEBUG=cpu.avx512f=off turns them off).
var haveAVX512 = syscpu.X86.HasAVX512F

//go:noescape
func geluAVX512(dst, src *float32, n int)

//go:noescape
func geluBackwardAVX512(dst, grad, x *float32, n int)

// The kernels process n elements, n a multiple of 8 (see vec.go for what
// each computes); dst may equal a source.

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func expShiftSumAVX2(dst, src *float32, n int, m float32) float64

//go:noescape
func geluAVX2(dst, src *float32, n int)

//go:noescape
func geluBackwardAVX2(dst, grad, x *float32, n int)

//go:noescape
func adamwAVX2(w, grad, m, v *float32, n int, k *adamConsts)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func sumAVX2(x *float32, n int) float64

//go:noescape
func sumSqDevAVX2(x *float32, n int, mu float64) float64

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func scaleAVX2(dst, x *float32, n int, a float32)

//go:noescape
func addScalarAVX2(dst, x *float32, n int, a float32)

//go:noescape
func mulAVX2(dst, x, y *float32, n int)

//go:noescape
func addAVX2(dst, x, y *float32, n int)

//go:noescape
func fmaAVX2(dst, x, y, z *float32, n int)

//go:noescape
func softmaxBackAVX2(dst, y, grad *float32, n int, s, k float32)

//go:noescape
func shiftScaleAVX2(dst, x *float32, n int, m, s float32)

//go:noescape
func lnBackAVX2(dst, dh, xh *float32, n int, rs, a, b float32)

//go:noescape
func rotaryAVX2(d1, d2, x1, x2, c, s *float32, n int, sign float32)

//go:noescape
func axpyAVX2(y, x *float32, n int, a float32)
