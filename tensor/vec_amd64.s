//go:build amd64 && !purego

#include "textflag.h"

// AVX2/FMA kernels of vec.go. Each processes n elements, n a multiple of 8,
// eight float32 lanes at a time; the Go wrappers run the tail. Arguments
// named dst may equal a source (the kernels are elementwise).

// Float32 constants, one per 4 bytes, broadcast with VBROADCASTSS.
DATA vconst<>+0x00(SB)/4, $0x3fb8aa3b // log2(e)
DATA vconst<>+0x04(SB)/4, $0x3f317200 // ln2hi
DATA vconst<>+0x08(SB)/4, $0x35bfbe8e // ln2lo
DATA vconst<>+0x0c(SB)/4, $0x3ab60b61 // 1/720
DATA vconst<>+0x10(SB)/4, $0x3c088889 // 1/120
DATA vconst<>+0x14(SB)/4, $0x3d2aaaab // 1/24
DATA vconst<>+0x18(SB)/4, $0x3e2aaaab // 1/6
DATA vconst<>+0x1c(SB)/4, $0x3f000000 // 1/2
DATA vconst<>+0x20(SB)/4, $0x3f800000 // 1
DATA vconst<>+0x24(SB)/4, $0x0000007f // 127, the exponent bias (int32)
DATA vconst<>+0x28(SB)/4, $0x42b17217 // 88.72283: above, e^x overflows
DATA vconst<>+0x2c(SB)/4, $0xc2aeac4f // -87.33654: below, e^x flushes to 0
DATA vconst<>+0x30(SB)/4, $0x7f800000 // +Inf
DATA vconst<>+0x34(SB)/4, $0xff800000 // -Inf
DATA vconst<>+0x38(SB)/4, $0x7fc00000 // NaN
DATA vconst<>+0x3c(SB)/4, $0xbfcc422a // -2 sqrt(2/pi), GELU
DATA vconst<>+0x40(SB)/4, $0x3d372713 // 0.044715, GELU
DATA vconst<>+0x44(SB)/4, $0x3e095d4f // 3 * 0.044715, GELU backward
DATA vconst<>+0x48(SB)/4, $0x3fcc422a // 2 sqrt(2/pi), GELU backward
GLOBL vconst<>(SB), RODATA|NOPTR, $0x4c

// EXP_CONSTS loads the constants EXP keeps in registers: Y15 log2e, Y14
// ln2hi, Y13 ln2lo, Y11 1/120, Y10 1/24, Y9 1/6, Y8 1/2, Y7 1. Kernels that
// use EXP leave these registers alone.
#define EXP_CONSTS \
	VBROADCASTSS vconst<>+0x00(SB), Y15; \
	VBROADCASTSS vconst<>+0x04(SB), Y14; \
	VBROADCASTSS vconst<>+0x08(SB), Y13; \
	VBROADCASTSS vconst<>+0x10(SB), Y11; \
	VBROADCASTSS vconst<>+0x14(SB), Y10; \
	VBROADCASTSS vconst<>+0x18(SB), Y9; \
	VBROADCASTSS vconst<>+0x1c(SB), Y8; \
	VBROADCASTSS vconst<>+0x20(SB), Y7

// EXP sets P = e^X lane by lane (X is kept; T1-T4 are clobbered) with the
// algorithm of expf:
//
//	fn = round(x log2 e)                  (nearest, ties to even)
//	r  = x - fn ln2hi - fn ln2lo          (Cody-Waite, two FMAs; |r| <= ln2/2)
//	p  = 1 + r(1 + r(1/2 + ... r/720))    (degree-6 Taylor, Horner with FMA)
//	e^x = p 2^n1 2^n2, n1 = n>>1, n2 = n-n1
//
// Splitting 2^n into two factors keeps both exponents in the normal range
// for every n in [-126, 128] (n = 128 happens just below the overflow
// bound), so the products are exact. Lanes with x > 88.72283 are then set
// to +Inf and lanes with x < -87.33654 (including -Inf) to 0; NaN propagates
// through the arithmetic (both compares are false for it).
#define EXP(X, P, T1, T2, T3, T4) \
	VMULPS       Y15, X, T1; \
	VROUNDPS     $0, T1, T1; \
	VMOVAPS      X, T2; \
	VFNMADD231PS Y14, T1, T2; \
	VFNMADD231PS Y13, T1, T2; \
	VBROADCASTSS vconst<>+0x0c(SB), P; \
	VFMADD213PS  Y11, T2, P; \
	VFMADD213PS  Y10, T2, P; \
	VFMADD213PS  Y9, T2, P; \
	VFMADD213PS  Y8, T2, P; \
	VFMADD213PS  Y7, T2, P; \
	VFMADD213PS  Y7, T2, P; \
	VCVTTPS2DQ   T1, T1; \
	VPSRAD       $1, T1, T2; \
	VPSUBD       T2, T1, T1; \
	VPBROADCASTD vconst<>+0x24(SB), T3; \
	VPADDD       T3, T2, T2; \
	VPSLLD       $23, T2, T2; \
	VPADDD       T3, T1, T1; \
	VPSLLD       $23, T1, T1; \
	VMULPS       T2, P, P; \
	VMULPS       T1, P, P; \
	VBROADCASTSS vconst<>+0x28(SB), T3; \
	VCMPPS       $0x1e, T3, X, T3; \
	VBROADCASTSS vconst<>+0x30(SB), T4; \
	VBLENDVPS    T3, T4, P, P; \
	VBROADCASTSS vconst<>+0x2c(SB), T3; \
	VCMPPS       $0x11, T3, X, T3; \
	VANDNPS      P, T3, P

// GELU_DENOM sets Y3 = 1 + e^(-2u) for the eight x in Y0, u = sqrt(2/pi)
// (x + 0.044715 x^3), so that sigmoid(2u) = 1/Y3 (Y12 holds -2 sqrt(2/pi),
// Y7 one, the EXP constants loaded; clobbers Y1, Y2, Y4-Y6).
#define GELU_DENOM \
	VBROADCASTSS vconst<>+0x40(SB), Y1; \
	VMULPS       Y0, Y1, Y1; \
	VMULPS       Y0, Y1, Y1; \
	VFMADD213PS  Y0, Y0, Y1; \
	VMULPS       Y12, Y1, Y6; \
	EXP(Y6, Y3, Y1, Y2, Y4, Y5); \
	VADDPS       Y7, Y3, Y3

// HSUMPD sets the low lane of X (the X register of Y) to the sum of the
// four float64 lanes of Y, clobbering T.
#define HSUMPD(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPD       T, X, X; \
	VUNPCKHPD    X, X, T; \
	VADDSD       T, X, X

// func expAVX2(dst, src *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   expdone
	EXP_CONSTS

exploop:
	VMOVUPS (SI), Y0
	EXP(Y0, Y3, Y1, Y2, Y4, Y5)
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     exploop
	VZEROUPPER

expdone:
	RET

// func expShiftSumAVX2(dst, src *float32, n int, m float32) float64
//
// dst[i] = e^(src[i]-m); returns the sum of dst, accumulated in float64.
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  n+16(FP), CX
	VXORPD Y6, Y6, Y6
	SHRQ  $3, CX
	JZ    essdone
	EXP_CONSTS
	VBROADCASTSS m+24(FP), Y12

essloop:
	VMOVUPS (SI), Y0
	VSUBPS  Y12, Y0, Y0
	EXP(Y0, Y3, Y1, Y2, Y4, Y5)
	VMOVUPS Y3, (DI)
	VCVTPS2PD    X3, Y1
	VEXTRACTF128 $1, Y3, X2
	VCVTPS2PD    X2, Y2
	VADDPD       Y1, Y6, Y6
	VADDPD       Y2, Y6, Y6
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          essloop

essdone:
	HSUMPD(Y6, X6, X1)
	VZEROUPPER
	MOVSD X6, ret+32(FP)
	RET

// func geluAVX2(dst, src *float32, n int)
//
// dst[i] = x sigmoid(2u) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3).
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   geludone
	EXP_CONSTS
	VBROADCASTSS vconst<>+0x3c(SB), Y12 // -2 sqrt(2/pi)

geluloop:
	VMOVUPS      (SI), Y0
	GELU_DENOM
	VDIVPS       Y3, Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          geluloop
	VZEROUPPER

geludone:
	RET

// func geluBackwardAVX2(dst, grad, x *float32, n int)
//
// dst[i] = g (s + 2 x s (1-s) u'), s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3 0.044715 x^2).
TEXT ·geluBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ grad+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   gelubdone
	EXP_CONSTS
	VBROADCASTSS vconst<>+0x3c(SB), Y12 // -2 sqrt(2/pi)

gelubloop:
	VMOVUPS      (SI), Y0
	GELU_DENOM
	VDIVPS       Y3, Y7, Y1      // s
	VSUBPS       Y1, Y7, Y2      // 1 - s
	VMULPS       Y1, Y2, Y2      // s (1-s)
	VMULPS       Y0, Y2, Y2      // x s (1-s)
	VMULPS       Y0, Y0, Y4      // x^2
	VBROADCASTSS vconst<>+0x44(SB), Y5
	VFMADD213PS  Y7, Y5, Y4      // 1 + 3a x^2
	VMULPS       Y4, Y2, Y2
	VBROADCASTSS vconst<>+0x48(SB), Y5
	VFMADD231PS  Y5, Y2, Y1      // s + 2c x s (1-s) (1 + 3a x^2)
	VMULPS       (DX), Y1, Y1
	VMOVUPS      Y1, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	DECQ         CX
	JNZ          gelubloop
	VZEROUPPER

gelubdone:
	RET

// func adamwAVX2(w, grad, m, v *float32, n int, k *adamConsts)
//
// The AdamW update of AdamWStep with the operations and rounding order of
// its Go loop (no fused multiply-adds), so the results are the same.
TEXT ·adamwAVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	SHRQ $3, CX
	JZ   adamdone
	VBROADCASTSS 0(AX), Y8   // decay
	VBROADCASTSS 4(AX), Y9   // b1
	VBROADCASTSS 8(AX), Y10  // 1-b1
	VBROADCASTSS 12(AX), Y11 // b2
	VBROADCASTSS 16(AX), Y12 // 1-b2
	VBROADCASTSS 20(AX), Y13 // step size
	VBROADCASTSS 24(AX), Y14 // 1/sqrt(bc2)
	VBROADCASTSS 28(AX), Y15 // eps

adamloop:
	VMOVUPS (SI), Y1
	VMULPS  (DI), Y8, Y0 // w decay
	VMULPS  (R8), Y9, Y2
	VMULPS  Y1, Y10, Y3
	VADDPS  Y3, Y2, Y2   // m = b1 m + (1-b1) g
	VMOVUPS Y2, (R8)
	VMULPS  (R9), Y11, Y4
	VMULPS  Y1, Y12, Y5
	VMULPS  Y1, Y5, Y5
	VADDPS  Y5, Y4, Y4   // v = b2 v + (1-b2) g g
	VMOVUPS Y4, (R9)
	VSQRTPS Y4, Y5
	VMULPS  Y14, Y5, Y5
	VADDPS  Y15, Y5, Y5  // sqrt(v)/sqrt(bc2) + eps
	VMULPS  Y2, Y13, Y3
	VDIVPS  Y5, Y3, Y3
	VSUBPS  Y3, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNZ     adamloop
	VZEROUPPER

adamdone:
	RET

// func maxAVX2(x *float32, n int) float32
//
// The maximum of x, NaN if any element is NaN (like Go's max), n >= 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	VBROADCASTSS vconst<>+0x34(SB), Y0 // running max
	VXORPS       Y1, Y1, Y1            // NaN lanes seen

maxloop:
	VMOVUPS (SI), Y2
	VCMPPS  $3, Y2, Y2, Y3 // unordered: NaN
	VORPS   Y3, Y1, Y1
	VMAXPS  Y2, Y0, Y0
	ADDQ    $32, SI
	DECQ    CX
	JNZ     maxloop

	VEXTRACTF128 $1, Y0, X2
	VMAXPS       X2, X0, X0
	VPERMILPS    $0x4e, X0, X2
	VMAXPS       X2, X0, X0
	VPERMILPS    $0xb1, X0, X2
	VMAXPS       X2, X0, X0
	VMOVMSKPS    Y1, AX
	TESTL        AX, AX
	JZ           maxret
	VMOVSS       vconst<>+0x38(SB), X0

maxret:
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func sumAVX2(x *float32, n int) float64
//
// The sum of x, accumulated in float64.
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $3, CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	JZ     sumdone

sumloop:
	VCVTPS2PD (SI), Y2
	VCVTPS2PD 16(SI), Y3
	VADDPD    Y2, Y0, Y0
	VADDPD    Y3, Y1, Y1
	ADDQ      $32, SI
	DECQ      CX
	JNZ       sumloop

sumdone:
	VADDPD Y1, Y0, Y0
	HSUMPD(Y0, X0, X1)
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func sumSqDevAVX2(x *float32, n int, mu float64) float64
//
// The sum of (x[i] - mu)^2, in float64.
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD mu+16(FP), Y4
	SHRQ         $3, CX
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	JZ           ssddone

ssdloop:
	VCVTPS2PD   (SI), Y2
	VCVTPS2PD   16(SI), Y3
	VSUBPD      Y4, Y2, Y2
	VSUBPD      Y4, Y3, Y3
	VFMADD231PD Y2, Y2, Y0
	VFMADD231PD Y3, Y3, Y1
	ADDQ        $32, SI
	DECQ        CX
	JNZ         ssdloop

ssddone:
	VADDPD Y1, Y0, Y0
	HSUMPD(Y0, X0, X1)
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET

// func dotAVX2(x, y *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DX
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ   $3, CX
	JZ     dotdone
	TESTQ  $1, CX // an odd block first, then pairs
	JZ     dotpairs
	VMOVUPS     (SI), Y2
	VFMADD231PS (DX), Y2, Y0
	ADDQ        $32, SI
	ADDQ        $32, DX
	DECQ        CX
	JZ          dotdone

dotpairs:
	SHRQ $1, CX

dotloop:
	VMOVUPS     (SI), Y2
	VMOVUPS     32(SI), Y3
	VFMADD231PS (DX), Y2, Y0
	VFMADD231PS 32(DX), Y3, Y1
	ADDQ        $64, SI
	ADDQ        $64, DX
	DECQ        CX
	JNZ         dotloop

dotdone:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VADDPS       X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func scaleAVX2(dst, x *float32, n int, a float32)
//
// dst[i] = a x[i].
TEXT ·scaleAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y1
	SHRQ         $3, CX
	JZ           scaledone

scaleloop:
	VMULPS  (SI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     scaleloop
	VZEROUPPER

scaledone:
	RET

// func addScalarAVX2(dst, x *float32, n int, a float32)
//
// dst[i] = x[i] + a.
TEXT ·addScalarAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y1
	SHRQ         $3, CX
	JZ           adsdone

adsloop:
	VADDPS  (SI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     adsloop
	VZEROUPPER

adsdone:
	RET

// func mulAVX2(dst, x, y *float32, n int)
//
// dst[i] = x[i] y[i].
TEXT ·mulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   muldone

mulloop:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     mulloop
	VZEROUPPER

muldone:
	RET

// func addAVX2(dst, x, y *float32, n int)
//
// dst[i] = x[i] + y[i].
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   adddone

addloop:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     addloop
	VZEROUPPER

adddone:
	RET

// func fmaAVX2(dst, x, y, z *float32, n int)
//
// dst[i] = x[i] y[i] + z[i], fused.
TEXT ·fmaAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ z+24(FP), R8
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   fmadone

fmaloop:
	VMOVUPS     (SI), Y0
	VMOVUPS     (DX), Y1
	VFMADD213PS (R8), Y1, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, R8
	ADDQ        $32, DI
	DECQ        CX
	JNZ         fmaloop
	VZEROUPPER

fmadone:
	RET

// func softmaxBackAVX2(dst, y, grad *float32, n int, s, k float32)
//
// dst[i] = k y[i] (g[i] - s).
TEXT ·softmaxBackAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         y+8(FP), SI
	MOVQ         grad+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS s+32(FP), Y4
	VBROADCASTSS k+36(FP), Y5
	SHRQ         $3, CX
	JZ           smbdone

smbloop:
	VMOVUPS (DX), Y0
	VSUBPS  Y4, Y0, Y0
	VMULPS  (SI), Y5, Y1
	VMULPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     smbloop
	VZEROUPPER

smbdone:
	RET

// func shiftScaleAVX2(dst, x *float32, n int, m, s float32)
//
// dst[i] = (x[i] - m) s.
TEXT ·shiftScaleAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS m+24(FP), Y4
	VBROADCASTSS s+28(FP), Y5
	SHRQ         $3, CX
	JZ           shsdone

shsloop:
	VMOVUPS (SI), Y0
	VSUBPS  Y4, Y0, Y0
	VMULPS  Y5, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     shsloop
	VZEROUPPER

shsdone:
	RET

// func lnBackAVX2(dst, dh, xh *float32, n int, rs, a, b float32)
//
// dst[i] = rs (dh[i] - a - xh[i] b), the LayerNorm input gradient.
TEXT ·lnBackAVX2(SB), NOSPLIT, $0-44
	MOVQ         dst+0(FP), DI
	MOVQ         dh+8(FP), SI
	MOVQ         xh+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS rs+32(FP), Y4
	VBROADCASTSS a+36(FP), Y5
	VBROADCASTSS b+40(FP), Y6
	SHRQ         $3, CX
	JZ           lnbdone

lnbloop:
	VMOVUPS      (SI), Y0
	VSUBPS       Y5, Y0, Y0
	VMOVUPS      (DX), Y1
	VFNMADD231PS Y6, Y1, Y0
	VMULPS       Y4, Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	DECQ         CX
	JNZ          lnbloop
	VZEROUPPER

lnbdone:
	RET

// func rotaryAVX2(d1, d2, x1, x2, c, s *float32, n int, sign float32)
//
// With s' = sign s: d1 = x1 c - x2 s', d2 = x2 c + x1 s' (a rotation of the
// pairs (x1[i], x2[i])). d1, d2 may equal x1, x2.
TEXT ·rotaryAVX2(SB), NOSPLIT, $0-60
	MOVQ         d1+0(FP), DI
	MOVQ         d2+8(FP), R10
	MOVQ         x1+16(FP), SI
	MOVQ         x2+24(FP), DX
	MOVQ         c+32(FP), R8
	MOVQ         s+40(FP), R9
	MOVQ         n+48(FP), CX
	VBROADCASTSS sign+56(FP), Y5
	SHRQ         $3, CX
	JZ           rotdone

rotloop:
	VMOVUPS      (SI), Y0     // a
	VMOVUPS      (DX), Y1     // b
	VMOVUPS      (R8), Y2     // c
	VMULPS       (R9), Y5, Y3 // s'
	VMULPS       Y2, Y0, Y4   // a c
	VFNMADD231PS Y3, Y1, Y4   // a c - b s'
	VMULPS       Y2, Y1, Y1   // b c
	VFMADD231PS  Y3, Y0, Y1   // b c + a s'
	VMOVUPS      Y4, (DI)
	VMOVUPS      Y1, (R10)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, R8
	ADDQ         $32, R9
	ADDQ         $32, DI
	ADDQ         $32, R10
	DECQ         CX
	JNZ          rotloop
	VZEROUPPER

rotdone:
	RET

// func axpyAVX2(y, x *float32, n int, a float32)
//
// y[i] += a x[i], fused.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-28
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y2
	SHRQ         $3, CX
	JZ           axpydone

axpyloop:
	VMOVUPS     (DI), Y0
	VFMADD231PS (SI), Y2, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         axpyloop
	VZEROUPPER

axpydone:
	RET

// AVX-512 kernels: the AVX2 ones above on sixteen lanes, with the same
// operations in the same order (so the same results, lane for lane), for
// CPUs with AVX-512F. Each processes n elements, n a multiple of 16.

// EXPZ_CONSTS loads the constants EXPZ keeps in registers: Z15 log2e, Z14
// ln2hi, Z13 ln2lo, Z11 1/120, Z10 1/24, Z9 1/6, Z8 1/2, Z7 1, Z16 1/720,
// Z17 the exponent bias, Z18 the overflow bound, Z19 +Inf, Z20 the flush
// bound.
#define EXPZ_CONSTS \
	VBROADCASTSS vconst<>+0x00(SB), Z15; \
	VBROADCASTSS vconst<>+0x04(SB), Z14; \
	VBROADCASTSS vconst<>+0x08(SB), Z13; \
	VBROADCASTSS vconst<>+0x10(SB), Z11; \
	VBROADCASTSS vconst<>+0x14(SB), Z10; \
	VBROADCASTSS vconst<>+0x18(SB), Z9; \
	VBROADCASTSS vconst<>+0x1c(SB), Z8; \
	VBROADCASTSS vconst<>+0x20(SB), Z7; \
	VBROADCASTSS vconst<>+0x0c(SB), Z16; \
	VPBROADCASTD vconst<>+0x24(SB), Z17; \
	VBROADCASTSS vconst<>+0x28(SB), Z18; \
	VBROADCASTSS vconst<>+0x30(SB), Z19; \
	VBROADCASTSS vconst<>+0x2c(SB), Z20

// EXPZ is vec_amd64.s's EXP on sixteen lanes: P = e^X (X kept; T1, T2 and
// the masks K1, K2 clobbered). The out-of-range lanes are set by masked
// moves where EXP blends.
#define EXPZ(X, P, T1, T2) \
	VMULPS        Z15, X, T1; \
	VRNDSCALEPS   $0, T1, T1; \
	VMOVAPS       X, T2; \
	VFNMADD231PS  Z14, T1, T2; \
	VFNMADD231PS  Z13, T1, T2; \
	VMOVAPS       Z16, P; \
	VFMADD213PS   Z11, T2, P; \
	VFMADD213PS   Z10, T2, P; \
	VFMADD213PS   Z9, T2, P; \
	VFMADD213PS   Z8, T2, P; \
	VFMADD213PS   Z7, T2, P; \
	VFMADD213PS   Z7, T2, P; \
	VCVTTPS2DQ    T1, T1; \
	VPSRAD        $1, T1, T2; \
	VPSUBD        T2, T1, T1; \
	VPADDD        Z17, T2, T2; \
	VPSLLD        $23, T2, T2; \
	VPADDD        Z17, T1, T1; \
	VPSLLD        $23, T1, T1; \
	VMULPS        T2, P, P; \
	VMULPS        T1, P, P; \
	VCMPPS        $0x1e, Z18, X, K1; \
	VMOVAPS       Z19, K1, P; \
	VCMPPS        $0x11, Z20, X, K2; \
	VPXORD        P, P, K2, P

// GELU_DENOMZ sets Z3 = 1 + e^(-2u) for the sixteen x in Z0 (Z12 holds
// -2 sqrt(2/pi), Z21 0.044715; clobbers Z1, Z2, Z6).
#define GELU_DENOMZ \
	VMULPS      Z0, Z21, Z1; \
	VMULPS      Z0, Z1, Z1; \
	VFMADD213PS Z0, Z0, Z1; \
	VMULPS      Z12, Z1, Z6; \
	EXPZ(Z6, Z3, Z1, Z2); \
	VADDPS      Z7, Z3, Z3

// func geluAVX512(dst, src *float32, n int)
TEXT ·geluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   gzdone
	EXPZ_CONSTS
	VBROADCASTSS vconst<>+0x3c(SB), Z12 // -2 sqrt(2/pi)
	VBROADCASTSS vconst<>+0x40(SB), Z21 // 0.044715

gzloop:
	VMOVUPS (SI), Z0
	GELU_DENOMZ
	VDIVPS  Z3, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     gzloop
	VZEROUPPER

gzdone:
	RET

// func geluBackwardAVX512(dst, grad, x *float32, n int)
TEXT ·geluBackwardAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ grad+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   gzbdone
	EXPZ_CONSTS
	VBROADCASTSS vconst<>+0x3c(SB), Z12 // -2 sqrt(2/pi)
	VBROADCASTSS vconst<>+0x40(SB), Z21 // 0.044715
	VBROADCASTSS vconst<>+0x44(SB), Z22 // 3 * 0.044715
	VBROADCASTSS vconst<>+0x48(SB), Z23 // 2 sqrt(2/pi)

gzbloop:
	VMOVUPS     (SI), Z0
	GELU_DENOMZ
	VDIVPS      Z3, Z7, Z1 // s
	VSUBPS      Z1, Z7, Z2 // 1 - s
	VMULPS      Z1, Z2, Z2 // s (1-s)
	VMULPS      Z0, Z2, Z2 // x s (1-s)
	VMULPS      Z0, Z0, Z4 // x^2
	VFMADD213PS Z7, Z22, Z4 // 1 + 3a x^2
	VMULPS      Z4, Z2, Z2
	VFMADD231PS Z23, Z2, Z1 // s + 2c x s (1-s) (1 + 3a x^2)
	VMULPS      (DX), Z1, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, DI
	DECQ        CX
	JNZ         gzbloop
	VZEROUPPER

gzbdone:
	RET
