"""Model texts that several test files ask questions of (one copy each; the tests that use them
compute their answers independently)."""

# Simpson's kidney-stone study as a Bayesian model: a Beta prior per table entry (fitting tests).
KIDNEY = """model kidney {
    param p_large ~ Beta(1, 1)
    size ~ Bernoulli(p_large)
    param p_treat[size] ~ Beta(1, 1)
    treatment ~ Bernoulli(p_treat[size])
    param p_ok[treatment, size] ~ Beta(1, 1)
    recovery ~ Bernoulli(p_ok[treatment, size])
}"""

# A linear-Gaussian confounded triangle: Z -> X -> Y, Z -> Y (closed forms by hand).
GAUSS = """model g {
    Z ~ Normal(0, 1)
    X ~ Normal(Z, 1)
    Y ~ Normal(2 * X + Z, 1)
}"""
