"""A warm restart keeps the site's measured terrain (Nav.checkpoint_into /
restore_from): word 7's bit 24 says whether the site's map bin was seen
(N_SEEN samples), word 6 is its level; restore_from puts a seen site bin that
lies outside the 11-bin map window back into the map as seen ground, so the
_publish that ends the restore gives the site_terrain_mm / site_alt_mm the
vehicle had before the reset (before the fix it gave the terrain under the
vehicle until the beam saw the site again: docs/mutation.md, fw-nav).

Hand-worked state: the vehicle 2,000 m above the datum at x = 5,000,000 mm
(bin (5,000,000 + 2,097,152) >> 16 = 108), the beam ahead (window bins
105..115), the terrain under it 40 m (its bin never seen); the default site
x = 3,000,000 mm is bin (3,000,000 + 2,097,152) >> 16 = 77, outside the
window, mapped at 150 m with N_MAP samples."""
from array import array

import pytest

from lander import estimator as E
from lander.config import Config
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

OFF = 2
H = 2000000                  # mm above the datum
TV = 40000                   # terrain under the vehicle (mm)
SITE = 150000                # the site bin's measured level (mm)
SB = 77                      # the default site's bin
FLAG = 1 << 24               # word 7: the site's bin seen


def _nav(cfg=None):
    return E.Nav(cfg if cfg is not None else Config())


def _flying(site_cnt=E.N_MAP, cfg=None, site_bin=SB):
    """The state above, published (site_terrain_mm is what guidance flew to)."""
    nav = _nav(cfg)
    assert nav._site_bin == site_bin
    nav._h = H << 4
    nav._x = 5000000 << 4
    nav.beam_dx_mm = 5000
    nav.terrain_under_mm = TV
    nav._tv_bin = 108             # already over bin 108: its terrain stays TV
    nav._map[site_bin] = SITE
    nav._cnt[site_bin] = site_cnt
    nav._conf[site_bin] = 1
    nav._msig[site_bin] = 1536
    nav.initialised = True
    nav._publish()
    return nav


def _record(nav):
    words = array("i", bytes(4 * (OFF + E.CHECKPOINT_WORDS)))
    nav.checkpoint_into(words, OFF)
    return words


def _restore(words, cfg=None):
    nav = _nav(cfg)
    drain_events()
    nav.restore_from(words, OFF)
    return nav


def test_before_the_restart_guidance_flies_to_the_site_s_measured_terrain():
    nav = _flying()
    assert (nav.site_terrain_mm, nav.site_alt_mm) == (SITE, H - SITE) == (150000, 1850000)
    assert (nav.terrain_under_mm, nav.altitude_mm) == (TV, H - TV)


def test_the_record_flags_a_seen_site_bin_in_word_7_bit_24_and_its_level_in_word_6():
    words = _record(_flying())
    # flags 0 | run 0 | (last bin -1) + 1 = 0 | seen 1 << 24
    assert words[OFF + 7] == 16777216
    assert words[OFF + 6] == 150000
    assert words[OFF + 20] == 105             # the window 105..115: bin 77 outside


@pytest.mark.parametrize("cnt, flag", [(0, 0), (1, 0), (E.N_SEEN - 1, 0), (E.N_SEEN, FLAG), (15, FLAG)])
def test_the_site_flag_is_set_from_n_seen_samples(cnt, flag):
    words = _record(_flying(site_cnt=cnt))
    assert words[OFF + 7] == flag


def test_a_restart_with_the_site_bin_seen_outside_the_window_keeps_the_site_s_terrain():
    nav = _restore(_record(_flying()))
    assert nav.site_terrain_mm == 150000
    assert nav.site_alt_mm == 2000000 - 150000 == 1850000
    # the terrain under the vehicle is unchanged by it
    assert (nav.terrain_under_mm, nav.altitude_mm) == (40000, 1960000)


def test_the_restored_site_bin_is_seen_ground():
    nav = _restore(_record(_flying()))
    assert (nav._map[SB], nav._cnt[SB], nav._steep[SB], nav._conf[SB], nav._msig[SB]) == \
        (150000, E.N_SEEN, 0, 1, E.SEEN_SIG_MIN_MM)
    assert nav.steep_bins == 0
    # nothing else outside the window
    assert [j for j in range(E.MAP_N) if nav._cnt[j] and not 105 <= j <= 115] == [SB]


def test_a_restart_with_the_site_bin_never_seen_flies_to_the_terrain_under_the_vehicle():
    before = _flying(site_cnt=0)
    assert (before.site_terrain_mm, before.site_alt_mm) == (40000, 1960000)
    words = _record(before)
    assert words[OFF + 7] == 0 and words[OFF + 6] == 40000
    nav = _restore(words)
    assert (nav.site_terrain_mm, nav.site_alt_mm) == (40000, 1960000)
    assert (nav._map[SB], nav._cnt[SB], nav._conf[SB], nav._msig[SB]) == (0, 0, 0, 0)


def test_a_restart_with_the_site_bin_seen_twice_flies_to_the_terrain_under_the_vehicle():
    # 2 samples: the site bin is not yet the site's terrain, before or after
    before = _flying(site_cnt=E.N_SEEN - 1)
    assert before.site_terrain_mm == 40000
    nav = _restore(_record(before))
    assert (nav.site_terrain_mm, nav.site_alt_mm) == (40000, 1960000)


def test_a_restart_with_the_site_bin_in_the_window_takes_the_window_s_word():
    # site x 5,200,000 mm: bin (5,200,000 + 2,097,152) >> 16 = 111, in 105..115
    cfg = Config(site_x_mm=5200000)
    words = _record(_flying(cfg=cfg, site_bin=111))
    assert words[OFF + 7] == FLAG and words[OFF + 6] == 150000
    # the window's word for bin 111: (150000 + 16) >> 5 = 4688 | 12 << 19 |
    # confirmed 1 << 24 | sigma (1536 + 511) >> 9 = 3 << 25
    assert words[OFF + E.CK_MAP_AT + 6] == 4688 | (12 << 19) | (1 << 24) | (3 << 25)
    nav = _restore(words, cfg)
    # the level to 32 mm, its 12 samples and sigma: as before the fix
    assert (nav._map[111], nav._cnt[111], nav._conf[111], nav._msig[111]) == (4688 * 32, 12, 1, 1536)
    assert (nav.site_terrain_mm, nav.site_alt_mm) == (150016, 1849984)


def test_a_record_without_the_site_flag_restores_as_before_the_fix():
    # a record whose bit 24 is clear (written before the fix, or the bin not
    # seen): word 6 is not used, the site is the terrain under the vehicle
    words = _record(_flying())
    words[OFF + 7] &= ~FLAG
    nav = _restore(words)
    assert (nav.site_terrain_mm, nav.site_alt_mm) == (40000, 1960000)
    assert nav._cnt[SB] == 0


def test_only_bit_24_of_word_7_is_the_site_flag():
    # bits 25..29 are not read: set alone they restore nothing
    words = _record(_flying())
    words[OFF + 7] = 0x3E << 24
    nav = _restore(words)
    assert nav.site_terrain_mm == 40000 and nav._cnt[SB] == 0
    assert nav.fault_flags == 0 and nav._last_bin == -1


@pytest.mark.parametrize("level, want", [
    (1 << 29, 0x3FFFF << 5),           # 8,388,576 mm: a window bin's bound
    (-(1 << 29), -(0x3FFFF << 5)),
    (0x3FFFF << 5, 8388576),
    (-8388576, -8388576)])
def test_a_flagged_site_level_is_bounded_like_a_window_bin_s(level, want):
    words = _record(_flying())
    words[OFF + 6] = level
    nav = _restore(words)
    assert nav._map[SB] == want
    assert (nav.site_terrain_mm, nav.site_alt_mm) == (want, H - want)


def test_a_site_bin_that_is_the_shadow_s_near_bin_takes_word_6_s_exact_level():
    # a shadow toward -x from bin 77 (near level 150 m) to bin 70: the shadow
    # restores bin 77 to the metre; word 6 has the level itself
    nav = _flying()
    sh = nav._sh
    sh[E.SH_DIR], sh[E.SH_BN], sh[E.SH_B1] = -1, SB, 70
    nav._map[SB] = 150400                     # 150.4 m: the shadow's near level 150 m
    nav._map[70] = 50000
    nav._publish()
    assert nav.site_terrain_mm == 150400
    words = _record(nav)
    assert words[OFF + 7] == FLAG
    r = _restore(words)
    assert (r._map[SB], r._cnt[SB], r._conf[SB], r._msig[SB]) == (150400, E.N_SEEN, 1, E.SEEN_SIG_MIN_MM)
    assert r._map[70] == 50000
    assert (r.site_terrain_mm, r.site_alt_mm) == (150400, 2000000 - 150400)


@pytest.mark.parametrize("site_x, sb, inside", [
    (4719592, 104, False),       # (4,719,592 + 2,097,152) >> 16 = 104: just before the window
    (4785128, 105, True),        # its first bin
    (5440488, 115, True),        # its last bin
    (5506024, 116, False)])      # just beyond it
def test_the_window_s_edges_decide_which_word_restores_the_site(site_x, sb, inside):
    cfg = Config(site_x_mm=site_x)
    nav = _restore(_record(_flying(cfg=cfg, site_bin=sb)), cfg)
    got = (nav._map[sb], nav._cnt[sb], nav._msig[sb], nav.site_terrain_mm)
    if inside:       # the window's word: 32 mm units, 12 samples, sigma code 3
        assert got == (150016, 12, 1536, 150016)
    else:            # word 6's level as seen ground
        assert got == (150000, E.N_SEEN, E.SEEN_SIG_MIN_MM, 150000)
