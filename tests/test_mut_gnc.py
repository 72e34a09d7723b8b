"""Guidance's and control's executive interfaces pinned word by word: the
warm-restart words (layout, flags, the clamps on restore and what a restore
re-arms), abort (once, not after landing, its event), divert (its phases,
clamp and event) and the engine cut's zeroed commands."""
from array import array

from lander import guidance as G
from lander.config import Config
from lander.control import Control
from tests.app_fakes import drain_events


def _guid(**kw):
    drain_events()
    return G.Guidance(Config(**kw))


def test_guidance_checkpoint_words_are_its_state_in_the_documented_order():
    g = _guid()
    g.phase, g.site_x_mm, g.vz_ref_mm_s, g.propellant_margin_g = G.PH_TERMINAL, 3123456, -1500, 4321
    g.tgo_ms, g._iz, g.hover_ms, g.pitch_limit_bau = 23456, -77, 1200, 9000
    g.engine_on, g.aborted = True, False
    w = array("i", [-9] * (3 + G.CHECKPOINT_WORDS + 1))
    g.checkpoint_into(w, 3)
    assert list(w) == [-9, -9, -9, G.PH_TERMINAL, 3123456, -1500, 4321, 23456, -77, 1200, 1, 9000, -9]
    g.engine_on, g.aborted = False, True
    g.checkpoint_into(w, 3)
    assert w[10] == 2
    g.engine_on = True
    g.checkpoint_into(w, 3)
    assert w[10] == 3
    g.engine_on = g.aborted = False
    g.checkpoint_into(w, 3)
    assert w[10] == 0


def test_guidance_restore_takes_the_words_and_replans_at_once():
    cfg = Config()
    g = G.Guidance(cfg)
    w = array("i", [0, G.PH_APPROACH, -2000000, -900, 555, 7000, 33, 450, 2, 8000])
    g._k = 0
    g._h_valid = True
    g._margin_due = True
    g.restore_from(w, 1)
    assert (g.phase, g.site_x_mm, g.vz_ref_mm_s, g.propellant_margin_g, g.tgo_ms, g._iz,
            g.hover_ms, g.engine_on, g.aborted, g.pitch_limit_bau) == \
        (G.PH_APPROACH, -2000000, -900, 555, 7000, 33, 450, False, True, 8000)
    assert g._k == cfg.replan_cycles + 1 and g._h_valid is False   # re-plans on the next cycle
    assert g._margin_due is False                     # margined after that re-plan
    w[8] = 1
    g.restore_from(w, 1)
    assert g.engine_on is True and g.aborted is False


def test_abort_goes_to_hover_once_with_its_event():
    g = _guid()
    g.phase, g.hover_ms, g.engine_on = G.PH_BRAKING, 900, False
    g.abort()
    assert (g.aborted, g.phase, g.hover_ms, g.engine_on) == (True, G.PH_HOVER, 0, True)
    assert drain_events() == [(G.EV_ABORT, G.PH_BRAKING), (G.EV_PHASE, G.PH_HOVER)]
    g.hover_ms = 500
    g.abort()
    assert g.hover_ms == 500 and drain_events() == []


def test_abort_after_landing_does_nothing():
    g = _guid()
    g.phase = G.PH_LANDED
    g.abort()
    assert (g.aborted, g.phase, g.engine_on) == (False, G.PH_LANDED, False)
    assert drain_events() == []


def test_divert_moves_the_site_in_braking_and_approach_only_clamped_with_its_event():
    for ph in (G.PH_COAST, G.PH_BRAKING, G.PH_APPROACH):
        g = _guid()
        g.phase = ph
        g.divert(3456789)
        assert g.site_x_mm == 3456789
        assert drain_events() == [(G.EV_DIVERT, 3456)]
    g = _guid()
    g.phase = G.PH_BRAKING
    g.divert(-0x3FFFFFFF)
    assert g.site_x_mm == -0x3FFFFFF and drain_events() == [(G.EV_DIVERT, -0x3FFFFFF // 1000)]
    for ph in (G.PH_TERMINAL, G.PH_LANDED, G.PH_HOVER, G.PH_SAFE):
        g = _guid()
        before = g.site_x_mm
        g.phase = ph
        g.divert(1000)
        assert g.site_x_mm == before and drain_events() == [], ph


def test_engine_cut_zeroes_every_thrust_command():
    c = Control(Config())
    c.throttle_q15, c.thrust_cmd_mn, c.thrust_model_q15 = 20000, 1500000, 19000
    c.cut()
    assert (c.throttle_q15, c.thrust_cmd_mn, c.thrust_model_q15, c._ysum) == (0, 0, 0, 0)


def test_control_checkpoint_words_in_order_and_clamped_on_restore():
    c = Control(Config())
    c.mass_mg, c.throttle_q15, c.pitch_cmd_bau = 400000000, 12345, -3000
    c.thrust_ratio_q15, c.thrust_model_q15, c.pitch_ref_bau, c._mag_geo = 30000, 11111, -2900, 777
    w = array("i", [5] * 9)
    c.checkpoint_into(w, 1)
    assert list(w) == [5, 400000000, 12345, -3000, 30000, 11111, -2900, 777, 5]
    d = Control(Config())
    d.restore_from(w, 1)
    assert (d.mass_mg, d.throttle_q15, d.pitch_cmd_bau, d.thrust_ratio_q15, d.thrust_model_q15,
            d.pitch_ref_bau, d._mag_geo) == (400000000, 12345, -3000, 30000, 11111, -2900, 777)
    w[2], w[4], w[5] = 40000, 70000, -5
    d.restore_from(w, 1)
    assert (d.throttle_q15, d.thrust_ratio_q15, d.thrust_model_q15) == (32768, 65536, 0)
    w[2], w[4] = -1, 100
    d.restore_from(w, 1)
    assert (d.throttle_q15, d.thrust_ratio_q15) == (0, 9830)


# --- the height gate, the climb-out and the safe descent rate -----------------
# (values by hand from the firmware's integer definitions; nominal vehicle:
# 340 kg dry, Isp 315 s, lunar g 1620 mm/s^2: hover time of the whole mass
# c / g = 315 * 9807 // 1620 = 1906 s -> 1,906,000 ms)

def _nav(h=0, vz=0, vx=0):
    from host_tools.sim.gncref import NavInput
    nav = NavInput()
    nav.site_alt_mm, nav.vz_mm_s, nav.vx_mm_s = h, vz, vx
    return nav


def test_height_gate_tolerance_takes_the_magnitude_of_a_prediction_below_the_site():
    # pred -1,000 m (vz 0): tolerance 150 m + |pred| / 4 = 400 m, so -1,400 m is
    # believed and 1 mm below it is held at the prediction
    g = _guid()
    for h, held in ((-1_400_000, False), (-1_400_001, True)):
        g._h_valid, g._h_mm, g._jump_ms, g.h_jumps = True, -1_000_000, 0, 0
        assert g._gate_h(h, 0) == (-1_000_000 if held else h)
        assert g.h_jumps == (1 if held else 0)


def _terminal_far_above_the_gate(g, nav):
    g.phase = G.PH_TERMINAL
    g._k = g.cfg.replan_cycles - 1        # the next cycle is a re-plan cycle
    g.update(nav, False)


def test_climb_out_believes_the_height_of_now_whatever_the_last_braking_plan_predicted():
    # braking last re-planned at 5 km; terminal now at 100 m (> 2 gates): the
    # climb-out re-plans from 100 m, not from the old prediction (no jump held)
    g = _guid(max_pitch_bau=10923)
    g.attach_control(Control(g.cfg))
    g._h_valid, g._h_mm = True, 5_000_000
    _terminal_far_above_the_gate(g, _nav(h=100_000, vz=-500))
    assert g.phase == G.PH_BRAKING
    assert g._h_mm == 100_000 and g.h_jumps == 0


def test_climb_out_time_to_go_assumes_at_least_1_m_s_of_descent():
    # 100 m above the site, 75 m above the gate, descending at only 0.5 m/s:
    # T = 2 dh / max(|vz|, 1 m/s) in Q11 ms = 75,000 * 2048 // 1000 = 153,600;
    # the re-plan takes one period (100 ms) off and, the vertical plan being
    # far inside the band (a0z 1.64, aez 1.58 m/s^2 of 6.4), walks 1/32 shorter:
    # 153,500 - (153,500 >> 5) = 148,704
    g = _guid(max_pitch_bau=10923)
    g.attach_control(Control(g.cfg))
    g.site_x_mm = 0
    _terminal_far_above_the_gate(g, _nav(h=100_000, vz=-500))
    assert (g._a[1], g._a[3], g.plan_feasible) == (1640, 1580, 1)
    assert g.tgo_ms == 148_704


def _lead(p_bau, v=50_000):
    # guidance's shadow lead: the slew |p| / rate + 2 s at v, as v t / 1024, + 1/16
    t = p_bau * 1000 // 3641 + 2000
    lead = ((v >> 4) * t) >> 6
    return lead + (lead >> 4)


def test_climb_out_without_a_control_stage_looks_from_the_braking_attitude_limit():
    # no control stage: the shadow's slew is timed from the attitude limit the
    # climb-out sets, braking_pitch_bau if 0 < it < max_pitch_bau, else the
    # vehicle's limit (45 deg -> 8192; 0 -> 10923; 1 -> 1)
    for bp, lim in ((8192, 8192), (0, 10923), (1, 1)):
        for shadow, look in ((_lead(lim), True), (_lead(lim) + 1, False)):
            g = _guid(max_pitch_bau=10923, braking_pitch_bau=bp)
            nav = _nav(h=100_000, vz=-500, vx=50_000)
            nav.shadow_dir, nav.shadow_mm = 1, shadow
            _terminal_far_above_the_gate(g, nav)
            assert g.phase == G.PH_BRAKING
            assert g.looking is look, (bp, shadow)


def _safe(mass_above_dry_g, h, **kw):
    g = _guid(max_pitch_bau=10923, **kw)
    c = Control(g.cfg)
    g.attach_control(c)
    c.mass_mg = c.dry_mass_mg + mass_above_dry_g * 1000
    g.phase = G.PH_SAFE
    g._k = g.cfg.replan_cycles - 1
    nav = _nav(h=h)
    g.update(nav, False)                  # the re-plan cycle: the rate for the period
    return g, nav


def test_safe_rate_is_five_quarters_of_the_height_over_the_hover_time_bought_bit_for_bit():
    # 1,370 m, 40 kg above dry, 2 kg reserve: p 38,000 g of m 380,000 g;
    # frac = 38,000 * 2^15 // 380,000 = 3276; t = 3276 * 1,906,000 >> 15
    # = 190,553 ms; (h + h/4) * 2^10 // t = 1,712,500 * 1024 // 190,553 = 9202;
    # * 1000 >> 10 = 8986 mm/s (8.99 m/s; the float figure 8.98)
    g, nav = _safe(40_000, 1_370_000)
    g.update(nav, False)
    assert g._safe_v == 8986 and g.vz_ref_mm_s == -8986


def test_safe_descent_below_the_reserve_follows_the_touchdown_ramp_alone():
    # at or below the 2 kg reserve the rate is not limited: at the ground the
    # ramp's 0.7 m/s, not the (here slower) constant safe rate of 0.1 m/s
    for above_dry_g in (2000, 1500):
        g, nav = _safe(above_dry_g, 0, safe_vz_mm_s=100)
        g.update(nav, False)
        assert g._safe_v == G._VEL_LIM
        assert g.vz_ref_mm_s == -700


def test_safe_rate_when_the_propellant_buys_under_a_millisecond_is_held_for_the_period():
    # 1 g above the reserve: frac = 2^15 // 342,001 = 0, so t = 0 ms, taken as
    # 1 ms: at 1 mm, (1 + 0) * 1024 // 1 * 1000 >> 10 = 1000 mm/s; that rate
    # holds until the next re-plan, also 10 m up (where the ramp is 1.22 m/s)
    g, nav = _safe(2001, 1, safe_vz_mm_s=100)
    assert g._safe_v == 1000
    nav.site_alt_mm = 10_000
    g.update(nav, False)
    assert g.vz_ref_mm_s == -1000


def test_a_negative_safe_rate_parameter_never_commands_a_climb():
    # no control stage (no mass): the parameter alone, clamped at 0
    g = _guid(safe_vz_mm_s=-300)
    g.phase = G.PH_SAFE
    g._k = g.cfg.replan_cycles - 1
    nav = _nav(h=0)
    g.update(nav, False)
    assert g._safe_v == 0
    g.update(nav, False)
    assert g.vz_ref_mm_s == 0


from hypothesis import example, given, strategies as st  # noqa: E402

_POS = 0x3FFFFFF
_VEL = 0xFFFFF


@given(cycles=st.sampled_from([5, 30]), valid=st.booleans(), h_mm=st.integers(-_POS, _POS),
       h=st.integers(-_POS, _POS), vz=st.integers(-1_200_000, 1_200_000),
       jump=st.sampled_from([0, 100, 2900, 3000]), near=st.booleans())
# speeds beyond the 1 km/s clamp, predictions beyond the 67 km clamp, a
# 0.6 s re-plan period (the wide product)
@example(cycles=5, valid=True, h_mm=2_000_000, h=2_000_000, vz=-1_100_000, jump=0, near=False)
@example(cycles=5, valid=True, h_mm=2_000_000, h=2_000_000, vz=1_100_000, jump=0, near=False)
@example(cycles=30, valid=True, h_mm=2_000_000, h=100_000, vz=-90_000, jump=0, near=False)
@example(cycles=5, valid=True, h_mm=2_000_000, h=0, vz=-1_100_000, jump=0, near=True)
@example(cycles=5, valid=True, h_mm=_POS - 10, h=_POS, vz=1_000_000, jump=0, near=False)
@example(cycles=5, valid=True, h_mm=_POS - 10, h=0, vz=1_000_000, jump=0, near=True)
@example(cycles=5, valid=True, h_mm=-_POS + 10, h=-_POS, vz=-1_000_000, jump=0, near=False)
@example(cycles=5, valid=True, h_mm=-_POS + 10, h=0, vz=-1_000_000, jump=0, near=True)
def test_height_gate_is_its_definition(cycles, valid, h_mm, h, vz, jump, near):
    # the height a re-plan uses: nav's, unless below the prediction from the
    # last re-plan (h + vz T, T the re-plan period in s * 1024 / 1024, both
    # clamped) by more than 150 m + |pred| / 4, for at most 3 s
    g = _guid(replan_cycles=cycles)
    g._h_valid, g._h_mm, g._jump_ms, g.h_jumps = valid, h_mm, jump, 5
    T = (20 * cycles * 1024) // 1000
    pred = max(-_POS, min(_POS, h_mm + ((max(-_VEL, min(_VEL, vz)) * T) >> 10)))
    tol = 150000 + (abs(pred) >> 2)
    if near:
        h = pred - tol - 1
    want, ev, jumps, jump_after = h, [], 5, 0
    if valid and h < pred - tol and jump < 3000:
        want, jump_after = pred, jump + 20 * cycles
        if jump == 0:
            jumps, ev = 6, [(G.EV_H_JUMP, (h - pred) // 1000)]
    assert g._gate_h(h, vz) == want
    assert (g._h_mm, g._jump_ms, g.h_jumps, g._h_valid) == (want, jump_after, jumps, True)
    assert drain_events() == ev
