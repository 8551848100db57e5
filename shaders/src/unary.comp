#version 450
#extension GL_GOOGLE_include_directive : require
// unary: out[i] = f(x[i]) (tensor.Exp, Log, Sigmoid, SiLU, GELU, Scale, the
// autograd AddScalar map, Fill, copies). out may be the same buffer as x.
layout(local_size_x = 256) in;
#include "common.glsl"

layout(constant_id = 0) const uint OP = 0;

const uint COPY = 0, SCALE = 1, ADD_SCALAR = 2, EXP = 3, LOG = 4;
const uint SIGMOID = 5, SILU = 6, GELU = 7, FILL = 8, SQUARE = 9;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };

layout(push_constant) uniform Params {
    uint n;
    float alpha;
} p;

float f(float v) {
    switch (OP) {
    case COPY: return v;
    case SCALE: return p.alpha * v;
    case ADD_SCALAR: return v + p.alpha;
    case EXP: return exp(v);
    case LOG: return log(v);
    case SIGMOID: return sigmoidf(v);
    case SILU: return v * sigmoidf(v);
    case GELU: return geluf(v);
    case SQUARE: return v * v;
    }
    return p.alpha; // FILL
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        o[i] = OP == FILL ? p.alpha : f(x[i]);
    }
}
