#version 450
#extension GL_GOOGLE_include_directive : require
// binary: out[i] = f(a[ia], b[ib]) elementwise with NumPy broadcasting
// (tensor.Add/Sub/Mul/Div, tensor.AddScaled, the Map2 backward rules).
// With BCAST the host passes the output shape collapsed to at most 4
// dimensions and the element strides of a and b along them (0 where an
// operand is broadcast); without it the three buffers have the same shape.
// out may be the same buffer as a (in-place updates read before they write).
layout(local_size_x = 256) in;
#include "common.glsl"

layout(constant_id = 0) const uint OP = 0;
layout(constant_id = 1) const bool BCAST = false;

const uint ADD = 0, SUB = 1, MUL = 2, DIV = 3;
const uint AXPY = 4;        // a + alpha*b            (tensor.AddScaled)
const uint SILU_BWD = 5;    // a=g, b=x               (tensor.SiLUBackward)
const uint GELU_BWD = 6;    // a=g, b=x               (tensor.GELUBackward)
const uint SIGMOID_BWD = 7; // a=g, b=y=sigmoid(x)    (autograd Sigmoid)
const uint EMA = 8;         // a - alpha*(a - b)      (nn.EMA.Update)
const uint CLIP = 9;        // a * clip(alpha, b=sum of squares) (nn.ClipGradNorm)

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer InA { float a[]; };
layout(std430, binding = 2) readonly buffer InB { float b[]; };

layout(push_constant) uniform Params {
    uvec4 dims; // output shape, innermost last (uvec4s first: 16-byte aligned)
    uvec4 sa;   // strides of a along dims
    uvec4 sb;   // strides of b along dims
    uint n;
    float alpha;
} p;

float f(float x, float y) {
    switch (OP) {
    case ADD: return x + y;
    case SUB: return x - y;
    case MUL: return x * y;
    case DIV: return x / y;
    case AXPY: return x + p.alpha * y;
    case SILU_BWD: return x * siluGrad(y);
    case GELU_BWD: return x * geluGrad(y);
    case SIGMOID_BWD: return x * y * (1.0 - y);
    case EMA: return x - p.alpha * (x - y);
    case CLIP: {
        float norm = sqrt(y);
        return norm > p.alpha ? x * (p.alpha / (norm + 1e-6)) : x;
    }
    }
    return 0.0;
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint ia = i, ib = i;
        if (BCAST) {
            uint r = i;
            ia = 0;
            ib = 0;
            for (int d = 3; d >= 0; d--) {
                uint q = r % p.dims[d];
                r /= p.dims[d];
                ia += q * p.sa[d];
                ib += q * p.sb[d];
            }
        }
        o[i] = f(a[ia], b[ib]);
    }
}
