"""Decimal strings from integer ratios, rounded half away from zero, with a fixed number of places.

Drivers compute in integers and publish a string whose digits are the precision the part has:
fixed(2508, 100, 2) == '25.08', fixed(-1, 3, 1) == '-0.3', fixed(1013, 1, 0) == '1013'.
"""

_SCALE = (1, 10, 100, 1000, 10000)
_FMT = ("%s%d%.0s", "%s%d.%01d", "%s%d.%02d", "%s%d.%03d", "%s%d.%04d")


def fixed(num, den, places):
    """num/den as a decimal string with `places` digits after the point (0..4)."""
    scale = _SCALE[places]
    if den % scale:
        n = num * scale
    else:
        n = num  # num / (den / scale): no product to outgrow a small int
        den //= scale
    neg = (n < 0) != (den < 0)
    n = abs(n)
    d = abs(den)
    q = n // d
    if 2 * (n - q * d) >= d:  # the remainder, not 2n: stays a small int on a 32-bit port
        q += 1
    return _FMT[places] % ("-" if neg and q else "", q // scale, q % scale)


def div_round(a, b):
    """a/b rounded half up, for a >= 0 and b > 0, without forming 2a."""
    q = a // b
    if 2 * (a - q * b) >= b:
        q += 1
    return q
