# A function with a heavy init: importing numpy (Debian's python3-numpy) and
# precomputing a pseudo-inverse once per instance. Each invocation fits a
# polynomial of degree DEGREE to the samples in the event with that matrix.
#
# Event: {"y": [y0, y1, ..., y63]}  (values sampled at x = 0, 1/63, ..., 1)
#    or  {"coefficients": [c0, c1, c2, c3]}  (samples c0 + c1 x + c2 x^2 + c3 x^3 are generated)
import time

_t0 = time.perf_counter()
import numpy as np  # noqa: E402

SAMPLES = 64
DEGREE = 3
X = np.linspace(0.0, 1.0, SAMPLES)
# Vandermonde design matrix (columns 1, x, x^2, x^3) and its pseudo-inverse: the
# least-squares fit of any y is then a single matrix-vector product.
DESIGN = np.vander(X, DEGREE + 1, increasing=True)
PINV = np.linalg.pinv(DESIGN)
INIT_MS = (time.perf_counter() - _t0) * 1000.0


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    if "y" in event:
        y = np.asarray(event["y"], dtype=float)
        if y.shape != (SAMPLES,):
            raise ValueError("y must hold exactly %d numbers, got shape %s" % (SAMPLES, y.shape))
    else:
        coefficients = np.asarray(event.get("coefficients", [1.0, -2.0, 0.5, 3.0]), dtype=float)
        if coefficients.shape != (DEGREE + 1,):
            raise ValueError("coefficients must hold exactly %d numbers" % (DEGREE + 1))
        y = DESIGN @ coefficients
    fit = PINV @ y
    residual = float(np.linalg.norm(DESIGN @ fit - y))
    return {
        "coefficients": [round(float(c), 9) for c in fit],
        "residual": residual,
        "numpy": np.__version__,
        "initMs": round(INIT_MS, 2),
        "requestId": context.aws_request_id,
    }
