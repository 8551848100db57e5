#version 450
#extension GL_GOOGLE_include_directive : require
// usdm_loss: the per-token negative ELBO of Duo (Eq. 17) of rows of logits,
// log x_theta = log_softmax(logits), and its gradient with respect to the
// logits (tensor.USDMLoss; the float64 CPU kernel is tensor.USDMTokenLoss
// and USDMTokenLossGrad). One workgroup per row.
//
// Notation (spec section 2): K = n, a = alpha_t, a' = alpha'_t < 0,
// i = z_t, m = x_0, e = [i == m], x_v = x_theta_v, R = K a/(1-a),
// r_v = R x_v, c = a'/(K a), and phi(y) = y - log1p(y) >= 0,
// psi(d) = exp(-d) - 1 + d >= 0.
//
// The loss is the CPU's regrouped Eq. 17 (tensor.lossEq17) taken one step
// further for float32: with s = sum_{v != m} log1p(r_v) = R (1 - x_m) - P,
// P = sum_{v != m} phi(r_v), and log1p(-q) = -q - phi(-q), the terms that
// cancel to first order drop out exactly, leaving sums of terms of one sign:
//
//   e = 1: bracket = -(phi(-q) + P/(1+R) + K/(Ka+1-a) psi(d)),
//          q = R (1 - x_i)/(1+R), d = log1p(-q)
//   e = 0: bracket = -((1+R) phi(-q) + P + K/(1-a) psi(log1p(r_i))),
//          q = R (1 - x_m)/(1+R)
//
// and loss = c bracket. 1 - x_i and 1 - x_m are sums over v != i (or m) of
// exp(x_v - max), not 1 - x, so they keep their precision when x_theta is
// nearly one-hot. phi, psi and log1p near 0 are series.
//
// Gradient (tensor.USDMTokenLossGrad, then through log_softmax): with
// dloss/dlogX_v = cAR x_v/(1+r_v) + [v=i] p_i + [v=m] p_m, cAR = c A R
// (A = 1/(1+R) if e else 1), the logits' gradient d_v - x_v sum(d)
// regroups, with T = sum_u x_u r_u/(1+r_u), into
//
//   g_v = cAR x_v (T - r_v/(1+r_v)) + w_i p_i + w_m p_m,
//   w_j = 1 - x_j at v = j, else -x_v,
//
// free of the first-order cancellation of d_v - x_v sum(d) (where r_v > 1
// the bracket is taken as 1/(1+r_v) - (1-T), so that a large R does not
// subtract numbers near 1). p_i = c G r_i/(1+r_i) and p_m = c R r_m/(1+r_m)
// (e = 0 only); the e = 1 difference G = K/xbar_theta_i - kappa K is
// rewritten as the sum K a (K (1-x_i) + K a x_i + 1-a) /
// ((1-a)(1+r_i)(Ka+1-a)).
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const bool GRAD = false;

layout(std430, binding = 0) readonly buffer Logits { float x[]; };
layout(std430, binding = 1) readonly buffer Zt { int zt[]; };
layout(std430, binding = 2) readonly buffer X0 { int x0[]; };
// Per sequence: alpha, 1 - alpha (rounded from float64, so that it keeps
// its precision near alpha = 1), alpha', 0.
layout(std430, binding = 3) readonly buffer Sched { vec4 sched[]; };
layout(std430, binding = 4) writeonly buffer Losses { float loss[]; };
layout(std430, binding = 5) writeonly buffer Grad { float grad[]; };

layout(push_constant) uniform Params {
    uint rows, n, seqLen;
} p;

const float LN2 = 0.6931471805599453;

// log1p(x) for x > -1, accurate to a few ulps relative everywhere: u = 1+x
// reduced to f 2^k with f in [sqrt(1/2), sqrt(2)), log f = 2 atanh(s) by its
// series, plus the rounding error of 1+x as a first-order correction.
float log1pf(float x) {
    precise float u = 1.0 + x;
    if (u == 1.0) return x;
    precise float corr = (x - (u - 1.0)) / u;
    int k;
    float f = frexp(u, k);
    if (f < 0.70710678) {
        f *= 2.0;
        k -= 1;
    }
    precise float s = (f - 1.0) / (f + 1.0);
    float s2 = s * s;
    float lf = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    return float(k) * LN2 + lf + corr;
}

// phi(y) = y - log1p(y) >= 0, by its series sum_{j>=2} (-y)^j/j near 0.
float phi(float y) {
    if (abs(y) >= 0.25) return y - log1pf(y);
    float r = 0.0;
    for (int j = 14; j >= 2; j--) r = r * (-y) + 1.0 / float(j);
    return r * y * y;
}

// psiSeries(d) = exp(-d) - 1 + d = sum_{j>=2} (-d)^j/j! for |d| < 0.7.
float psiSeries(float d) {
    float r = 0.0, t = 1.0 / 479001600.0; // 1/12!
    for (int j = 12; j >= 2; j--) {
        r = r * (-d) + t;
        t *= float(j);
    }
    return r * d * d;
}

void main() {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
    float K = float(p.n);
    for (uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; row < p.rows; row += groups) {
        uint base = row * p.n;
        uint i = uint(zt[row]), m = uint(x0[row]);
        bool e = i == m;
        vec4 sc = sched[row / p.seqLen];
        float a = sc.x, oma = sc.y, ap = sc.z;
        float Ka = K * a, R = Ka / oma, opR = 1.0 + R;

        // x_v = exp(x_v - mx)/S; 1 - x_i = Si/S, 1 - x_m = Sm/S.
        float mx = NEG_INF;
        for (uint j = t; j < p.n; j += wg) mx = max(mx, x[base + j]);
        mx = wgMax(mx);
        float S = 0.0, Si = 0.0, Sm = 0.0;
        for (uint j = t; j < p.n; j += wg) {
            float ev = exp(x[base + j] - mx);
            S += ev;
            if (j != i) Si += ev;
            if (j != m) Sm += ev;
        }
        S = wgSum(S);
        Si = wgSum(Si);
        Sm = e ? Si : wgSum(Sm);
        float invS = 1.0 / S;

        // P = sum_{v != m} phi(r_v); T = sum_v x_v r_v/(1+r_v) and its
        // complement U = 1 - T = sum_v x_v/(1+r_v).
        float P = 0.0, T = 0.0, U = 0.0;
        for (uint j = t; j < p.n; j += wg) {
            float xv = exp(x[base + j] - mx) * invS, rv = R * xv;
            if (j != m) P += phi(rv);
            if (GRAD) {
                T += xv * rv / (1.0 + rv);
                U += xv / (1.0 + rv);
            }
        }
        P = wgSum(P);
        if (GRAD) {
            T = wgSum(T);
            U = wgSum(U);
        }

        float xi = exp(x[base + i] - mx) * invS, ri = R * xi;
        float omxi = Si * invS, omxm = Sm * invS;
        float c = ap / Ka;
        float cAR, pi, pm = 0.0;
        if (e) {
            // Eq. 17 with e = 1.
            float q = R / opR * omxi, d, ps, ph;
            if (q < 0.5) {
                d = log1pf(-q);
                ph = q >= 0.25 ? -q - d : phi(-q);
                ps = psiSeries(d); // |d| < log 2
            } else {
                // 1 - q = (1 + r_i)/(1 + R); exp(-d) - 1 = (R - r_i)/(1 + r_i).
                d = log((1.0 + ri) / opR);
                ph = -q - d;
                ps = R * omxi / (1.0 + ri) + d;
            }
            if (t == 0) loss[row] = -c * (ph + P / opR + K / (Ka + oma) * ps);
            cAR = ap / (Ka + oma);
            pi = ap * (K * omxi + Ka * xi + oma) / (oma * (1.0 + ri) * (Ka + oma)) * ri / (1.0 + ri);
        } else {
            // Eq. 17 with e = 0.
            float rm = R * exp(x[base + m] - mx) * invS;
            float q = R / opR * omxm;
            float ph = q < 0.5 ? phi(-q) : -q - log((1.0 + rm) / opR);
            float Di = log1pf(ri);
            float ps = Di < 0.7 ? psiSeries(Di) : Di - ri / (1.0 + ri);
            if (t == 0) loss[row] = -c * (opR * ph + P + K / oma * ps);
            cAR = ap / oma;
            pi = -(ap * K * xi / (oma * oma)) * ri / ((1.0 + ri) * (1.0 + ri));
            pm = cAR * rm / (1.0 + rm);
        }
        if (GRAD) {
            for (uint j = t; j < p.n; j += wg) {
                float xv = exp(x[base + j] - mx) * invS, rv = R * xv;
                // T - r_v/(1+r_v) = 1/(1+r_v) - U: the form whose terms
                // are computed small where the difference is small.
                float h = rv / (1.0 + rv);
                float tb = h < 0.5 ? T - h : 1.0 / (1.0 + rv) - U;
                float wi = j == i ? omxi : -xv;
                float wm = j == m ? omxm : -xv;
                grad[base + j] = cAR * xv * tb + wi * pi + wm * pm;
            }
        }
    }
}
