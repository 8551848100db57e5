// common.glsl: helpers shared by the compute shaders. It is #included, never
// compiled alone. A shader that includes it must declare its workgroup size
// before the include (the reductions size their shared memory by it).
//
// Built twice for the row kernels: plain, and with -DSUBGROUP, which
// replaces the shared-memory tree reductions by subgroup arithmetic (used
// only on devices that report subgroup arithmetic for compute shaders).

#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

const float GELU_C = 0.7978845608028654; // sqrt(2/pi)
const float GELU_A = 0.044715;

float sigmoidf(float x) { return 1.0 / (1.0 + exp(-x)); }

// tanh through exp: exact at the saturated ends, unlike some drivers' tanh.
float tanhf(float u) { return 1.0 - 2.0 / (exp(2.0 * u) + 1.0); }

float geluf(float x) {
    return 0.5 * x * (1.0 + tanhf(GELU_C * (x + GELU_A * x * x * x)));
}

float geluGrad(float x) {
    float th = tanhf(GELU_C * (x + GELU_A * x * x * x));
    return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * GELU_C * (1.0 + 3.0 * GELU_A * x * x);
}

float siluGrad(float x) {
    float s = sigmoidf(x);
    return s * (1.0 + x * (1.0 - s));
}

// Workgroup reductions. Every invocation of the workgroup must call them in
// uniform control flow; every invocation gets the result. The order of the
// additions is fixed, so results are deterministic run to run.
shared float red[gl_WorkGroupSize.x];

float wgSum(float v) {
#ifdef SUBGROUP
    v = subgroupAdd(v);
    if (subgroupElect()) red[gl_SubgroupID] = v;
    barrier();
    float s = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; i++) s += red[i];
    barrier();
    return s;
#else
    uint t = gl_LocalInvocationIndex;
    red[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
#endif
}

float wgMax(float v) {
#ifdef SUBGROUP
    v = subgroupMax(v);
    if (subgroupElect()) red[gl_SubgroupID] = v;
    barrier();
    float m = red[0];
    for (uint i = 1; i < gl_NumSubgroups; i++) m = max(m, red[i]);
    barrier();
    return m;
#else
    uint t = gl_LocalInvocationIndex;
    red[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s) red[t] = max(red[t], red[t + s]);
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
#endif
}

#define NEG_INF uintBitsToFloat(0xff800000u)
