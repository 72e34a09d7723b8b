# Board entry point, copied to the board's root with board.py beside it and
# config.json (the parameter set written by `lander deploy`; calibration by
# `lander bench`).
import board
from lander.app import App
from lander.config import CFG_OK, describe, load_json


def load_config(path="config.json"):
    """(Config, reason, field index): a missing or refused file flies the
    defaults and the executive refuses to arm, naming the reason
    (EV_CONFIG_BAD, and one line on the console)."""
    cfg, why, arg = load_json(path)
    if why != CFG_OK:
        print("config.json refused:", describe(why, arg))
    return cfg, why, arg


if getattr(board, "HIL", False):
    # the host drives this board over the link: `lander hil` starts
    # lander.hil.serve through the raw REPL; nothing runs on its own
    print("HIL board: waiting for `lander hil`")
else:
    cfg, why, arg = load_config()
    app = App(board.make_board(), cfg, cfg_status=why, cfg_arg=arg)
    app.run_forever()
