"""The firmware's gain table is the steady-state Kalman filter of the model in
host_tools/sim/navgains.py (float, scipy's discrete Riccati solver), rounded."""
import numpy as np

from host_tools.sim import navgains
from lander import navgains as fw


def test_firmware_gain_table_is_the_host_steady_state_filter_rounded():
    rows = navgains.table()
    assert fw.NK == navgains.NK and fw.NCOL == len(rows[0])
    flat = [v for r in rows for v in r]
    assert list(fw.GAINS) == flat


def test_steady_state_gain_satisfies_the_riccati_fixed_point():
    # one more predict/update from the solved covariance gives the same gain
    F, Q, H, R = navgains.model(navgains.sigma_m(10))
    K, _, _ = navgains.steady_state(navgains.sigma_m(10))
    import scipy.linalg
    P = scipy.linalg.solve_discrete_are(F.T, H.T, Q, np.array([[R]]))
    Pu = P - np.outer(K, H @ P)
    P2 = F @ Pu @ F.T + Q
    K2 = (P2 @ H.T).ravel() / (float((H @ P2 @ H.T)[0, 0]) + R)
    assert np.allclose(K, K2, rtol=1e-9)


def test_gains_fall_as_the_measurement_noise_grows():
    kh = [fw.GAINS[fw.NCOL * k] for k in range(fw.NK)]
    assert all(a > b for a, b in zip(kh, kh[1:]))


def test_sigma_edges_are_the_geometric_mid_points_of_the_buckets():
    for k, e in enumerate(fw.SIGMA_EDGES_MM):
        assert abs(e - navgains.sigma_m(k + 0.5) * 1000) <= 0.5
