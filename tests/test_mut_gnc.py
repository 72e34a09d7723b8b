"""Guidance's and control's executive interfaces pinned word by word: the
warm-restart words (layout, flags, the clamps on restore and what a restore
re-arms), abort (once, not after landing, its event), divert (its phases,
clamp and event) and the engine cut's zeroed commands."""
from array import array

from lander import guidance as G
from lander.config import Config
from lander.control import Control
from lander.events import events


def _drain():
    out = [0, 0, 0]
    got = []
    while events.pop_into(out):
        got.append((out[1], out[2]))
    return got


def _guid(**kw):
    _drain()
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
    g._pm[G._PM_OK] = 1
    g.restore_from(w, 1)
    assert (g.phase, g.site_x_mm, g.vz_ref_mm_s, g.propellant_margin_g, g.tgo_ms, g._iz,
            g.hover_ms, g.engine_on, g.aborted, g.pitch_limit_bau) == \
        (G.PH_APPROACH, -2000000, -900, 555, 7000, 33, 450, False, True, 8000)
    assert g._k == cfg.replan_cycles - 1 and g._h_valid is False
    assert g._pm[G._PM_OK] == 0                       # the plan margin is computed again
    w[8] = 1
    g.restore_from(w, 1)
    assert g.engine_on is True and g.aborted is False


def test_abort_goes_to_hover_once_with_its_event():
    g = _guid()
    g.phase, g.hover_ms, g.engine_on = G.PH_BRAKING, 900, False
    g.abort()
    assert (g.aborted, g.phase, g.hover_ms, g.engine_on) == (True, G.PH_HOVER, 0, True)
    assert _drain() == [(G.EV_ABORT, G.PH_BRAKING), (G.EV_PHASE, G.PH_HOVER)]
    g.hover_ms = 500
    g.abort()
    assert g.hover_ms == 500 and _drain() == []


def test_abort_after_landing_does_nothing():
    g = _guid()
    g.phase = G.PH_LANDED
    g.abort()
    assert (g.aborted, g.phase, g.engine_on) == (False, G.PH_LANDED, False)
    assert _drain() == []


def test_divert_moves_the_site_in_braking_and_approach_only_clamped_with_its_event():
    for ph in (G.PH_COAST, G.PH_BRAKING, G.PH_APPROACH):
        g = _guid()
        g.phase = ph
        g.divert(3456789)
        assert g.site_x_mm == 3456789
        assert _drain() == [(G.EV_DIVERT, 3456)]
    g = _guid()
    g.phase = G.PH_BRAKING
    g.divert(-0x3FFFFFFF)
    assert g.site_x_mm == -0x3FFFFFF and _drain() == [(G.EV_DIVERT, -0x3FFFFFF // 1000)]
    for ph in (G.PH_TERMINAL, G.PH_LANDED, G.PH_HOVER, G.PH_SAFE):
        g = _guid()
        before = g.site_x_mm
        g.phase = ph
        g.divert(1000)
        assert g.site_x_mm == before and _drain() == [], ph


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
