//go:build !amd64 || purego

package tensor

// haveAVX2 is false without the assembly: vec.go runs its Go loops.
var haveAVX2, haveAVX512 = false, false

func noAsm() { panic("tensor: vector kernel without assembly") }

func expAVX2(dst, src *float32, n int)                            { noAsm() }
func expShiftSumAVX2(dst, src *float32, n int, m float32) float64 { noAsm(); return 0 }
func geluAVX2(dst, src *float32, n int)                           { noAsm() }
func geluAVX512(dst, src *float32, n int)                         { noAsm() }
func geluBackwardAVX512(dst, grad, x *float32, n int)             { noAsm() }
func geluBackwardAVX2(dst, grad, x *float32, n int)               { noAsm() }
func adamwAVX2(w, grad, m, v *float32, n int, k *adamConsts)      { noAsm() }
func maxAVX2(x *float32, n int) float32                           { noAsm(); return 0 }
func sumAVX2(x *float32, n int) float64                           { noAsm(); return 0 }
func sumSqDevAVX2(x *float32, n int, mu float64) float64          { noAsm(); return 0 }
func dotAVX2(x, y *float32, n int) float32                        { noAsm(); return 0 }
func scaleAVX2(dst, x *float32, n int, a float32)                 { noAsm() }
func addScalarAVX2(dst, x *float32, n int, a float32)             { noAsm() }
func mulAVX2(dst, x, y *float32, n int)                           { noAsm() }
func addAVX2(dst, x, y *float32, n int)                           { noAsm() }
func fmaAVX2(dst, x, y, z *float32, n int)                        { noAsm() }
func softmaxBackAVX2(dst, y, grad *float32, n int, s, k float32)  { noAsm() }
func shiftScaleAVX2(dst, x *float32, n int, m, s float32)         { noAsm() }
func lnBackAVX2(dst, dh, xh *float32, n int, rs, a, b float32)    { noAsm() }
func axpyAVX2(y, x *float32, n int, a float32)                    { noAsm() }
func rotaryAVX2(d1, d2, x1, x2, c, s *float32, n int, sign float32) {
	noAsm()
}
